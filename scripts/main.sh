#!/usr/bin/env bash
# The main job: set up, run the low-data Fashion-MNIST augmentation study, print and save the report.
#   bash scripts/main.sh                         # every image strategy, seed 0 (about 8 min on 2 CPU cores)
#   bash scripts/main.sh seed=0,1,2        # extra overrides pass through; here 3 seeds (about 23 min)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

sweep=outputs/study/fashion_lowdata_$(date +%Y-%m-%d_%H-%M-%S)
# Re-running with the same hydra.sweep.dir skips finished jobs and resumes interrupted ones.
.venv/bin/auglab-train -m experiment=fashion_lowdata hydra.sweep.dir="$sweep" "$@"
.venv/bin/auglab-report "$sweep"
