"""Bad user input, reported in one line with no traceback: ``AuglabError``, and ``OptionError`` with the range
checks that raise it, one style for the options of every strategy and model."""

from __future__ import annotations

from collections.abc import Sequence


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


class OptionError(AuglabError):
    """An option value out of range: ``<option>=<value> is invalid: it must be <requirement>``. Transforms name
    the option by its own name; ``at(prefix)`` names it by its place in the config (the strategy builder
    knows where the transform sits: ``augment.device.seq_crop.eta``)."""

    def __init__(self, option: str, value: object, requirement: str) -> None:
        self.option, self.value, self.requirement = option, value, requirement
        super().__init__(f"{option}={value!r} is invalid: it must be {requirement}")

    def at(self, prefix: str) -> OptionError:
        return OptionError(f"{prefix}.{self.option}", self.value, self.requirement)


def _number(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def check_fraction(option: str, value: object, *, above_zero: bool = False) -> float:
    """``value`` as a float in [0, 1] (in (0, 1] with ``above_zero``)."""
    if not _number(value) or not (0 < value if above_zero else 0 <= value) or value > 1:
        raise OptionError(option, value, f"a number in {'(0' if above_zero else '[0'}, 1]")
    return float(value)


def check_open_fraction(option: str, value: object) -> float:
    """``value`` as a float strictly between 0 and 1."""
    if not _number(value) or not 0 < value < 1:
        raise OptionError(option, value, "a number in (0, 1)")
    return float(value)


def check_positive(option: str, value: object) -> float:
    """``value`` as a float > 0."""
    if not _number(value) or value <= 0:
        raise OptionError(option, value, "a number > 0")
    return float(value)


def check_count(option: str, value: object, *, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise OptionError(option, value, f"an integer >= {minimum}")
    return value


def check_choice(option: str, value: object, choices: Sequence[str]) -> str:
    """``value``, one of ``choices``."""
    if value not in choices:
        raise OptionError(option, value, f"one of {', '.join(choices)}")
    return str(value)


def whole_number(name: str, value: object) -> int:
    """A whole number >= 1 for option ``name``, or a one-line error that names it."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
        raise AuglabError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(text)
