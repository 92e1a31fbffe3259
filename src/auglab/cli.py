"""What every ``auglab-*`` Hydra command does before Hydra parses its command line."""

from __future__ import annotations

import sys
from collections.abc import Callable

from auglab.config_checks import check_composes, check_overrides, uses_own_configs
from auglab.ddp_hydra import child_argv
from auglab.errors import AuglabError


def run_cli(hydra_main: Callable[[], object], config_name: str) -> None:
    """Fix a DDP child's command line, check the overrides (one-line errors), then run Hydra."""
    sys.argv = child_argv(sys.argv)
    args = sys.argv[1:]
    try:
        if not uses_own_configs(args):
            check_overrides(args)
            check_composes(args, config_name)
    except AuglabError as err:
        print(f"auglab: error: {err}", file=sys.stderr)
        sys.exit(2)
    hydra_main()
