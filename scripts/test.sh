#!/usr/bin/env bash
# Set up, then lint, build the guide and run the test suite. Extra arguments go to pytest, e.g. `-m slow` or `-k report`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks docs
.venv/bin/mkdocs build --strict --quiet   # the guide (docs/): a broken link fails
.venv/bin/python -m pytest "$@"
