"""The one exception type users see: a one-line message that says what to do."""


class MusiclustError(Exception):
    """A problem with the user's input or data, reported as one line (no traceback) by the command-line tools."""
