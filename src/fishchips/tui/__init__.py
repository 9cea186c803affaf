"""The live shop in the terminal (Textual)."""
