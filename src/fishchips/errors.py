"""The one error type the command line turns into a one-line message and a non-zero exit."""


class FishchipsError(Exception):
    """A problem the user can fix: the message says what is wrong and what to do."""
