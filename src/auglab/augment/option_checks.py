"""Checks of a strategy's numeric options: a bad value fails in one line that names the option
(``augment.<stage>.<transform>.<option>``) and the valid range."""

from __future__ import annotations

from auglab.errors import AuglabError


def check_fraction(where: str, value: object, *, above_zero: bool = False) -> float:
    """``value`` as a float in [0, 1] (in (0, 1] with ``above_zero``); else an AuglabError naming ``where``."""
    number = not isinstance(value, bool) and isinstance(value, int | float)
    if not number or not (0 < value if above_zero else 0 <= value) or value > 1:
        raise AuglabError(f"{where}={value!r} is invalid: it must be a number in {'(0' if above_zero else '[0'}, 1]")
    return float(value)


def check_count(where: str, value: object) -> int:
    """``value`` as an int >= 1; else an AuglabError naming the option ``where``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AuglabError(f"{where}={value!r} is invalid: it must be an integer >= 1")
    return value
