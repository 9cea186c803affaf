"""The `fishchips` command."""
