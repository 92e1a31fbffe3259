"""What the report's commands share: bad input ends in one line on stderr and exit 2 (``docs/architecture.md``,
"Errors"), whether argparse or the command's own checks find it."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class CommandError(SystemExit):
    """Exit 2 with a one-line message (printed by ``fail``); ``str()`` is the message, for tests."""

    def __init__(self, message: str) -> None:
        super().__init__(2)
        self.message = message

    def __str__(self) -> str:
        return self.message


def fail(prog: str, message: str) -> NoReturn:
    line = f"{prog}: error: {message}"
    print(line, file=sys.stderr)
    raise CommandError(line)


class OneLineParser(argparse.ArgumentParser):
    """argparse, with its usage errors in one line (no usage block)."""

    def error(self, message: str) -> NoReturn:
        fail(self.prog, f"{message} (see --help)")


def fraction(text: str) -> float:
    """A number strictly between 0 and 1 (``--alpha``)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be a number between 0 and 1, e.g. 0.05")
    return value


def non_negative(text: str) -> float:
    """A number >= 0 (``--rope``, ``--effect``)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text}: must be a number >= 0, in the metric's units (e.g. 0.005)")
    return value
