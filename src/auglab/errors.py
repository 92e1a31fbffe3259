"""The one exception type for bad user input: its message is printed as a single line, no traceback."""


class AuglabError(Exception):
    """A problem the user can fix; the message names the thing and the fix."""
