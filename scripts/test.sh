#!/usr/bin/env bash
# Set up, then lint and run the test suite. Extra arguments go to pytest, e.g. `-m slow` or `-k report`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks
.venv/bin/python -m pytest "$@"
