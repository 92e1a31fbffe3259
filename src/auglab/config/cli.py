"""What every ``auglab-*`` Hydra command does before Hydra parses its command line."""

from __future__ import annotations

import sys
from collections.abc import Callable

from auglab.config.overrides import check_composes, check_overrides, uses_own_configs
from auglab.errors import AuglabError
from auglab.sweep.ddp import is_rank_process
from hydra_plugins.auglab_plugins import register as register_plugins


def run_cli(hydra_main: Callable[[], object], config_name: str) -> None:
    """Check the overrides (one-line errors), then run Hydra; Ctrl+C ends with one line, exit 130."""
    args = sys.argv[1:]
    try:
        if not uses_own_configs(args) and not is_rank_process():  # a DDP rank's supervisor checked them
            check_overrides(args)
            check_composes(args, config_name)
    except AuglabError as err:
        print(f"auglab: error: {err}", file=sys.stderr)
        sys.exit(2)
    register_plugins()
    try:
        hydra_main()
    except KeyboardInterrupt as err:
        print(f"auglab: {err or 'interrupted'}", file=sys.stderr)
        sys.exit(130)
