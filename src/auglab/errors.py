"""The one exception type for bad user input: its message is printed as a single line, no traceback."""


class AuglabError(Exception):
    """A problem the user can fix; the message names the thing and the fix."""


def root_cause(err: BaseException) -> BaseException:
    """The first AuglabError down the ``raise ... from`` chain, else the innermost error (Hydra wraps
    errors raised while instantiating)."""
    while err.__cause__ is not None and not isinstance(err, AuglabError):
        err = err.__cause__
    return err


def one_line(err: BaseException) -> str:
    """The root cause in one line."""
    err = root_cause(err)
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return text if isinstance(err, AuglabError) else f"{type(err).__name__}: {text}"
