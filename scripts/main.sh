#!/usr/bin/env bash
# The main job: set up, then answer one question on the embedded default data (Fashion-MNIST, 100 images per
# class): do MixUp and TrivialAugment help or hurt a small CNN by more than a point of macro F1? About 10 min
# on 2 CPU cores: 3 seeds of none / mixup / trivialaugment, two jobs at once (conf/experiment/fashion_main.yaml),
# then auglab-decide adds seeds to what is still undecided while its 5-minute budget lasts and writes the report.
#   bash scripts/main.sh                       # extra overrides pass through to the sweep, e.g. seed=0,1,2,3
# Re-running with the same hydra.sweep.dir skips finished jobs and resumes interrupted ones; the whole
# fashion_lowdata study (12 strategies): auglab-train -m experiment=fashion_lowdata (see experiments/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

sweep=outputs/study/fashion_main_$(date +%Y-%m-%d_%H-%M-%S)
.venv/bin/auglab-train -m experiment=fashion_main hydra.sweep.dir="$sweep" "$@"
.venv/bin/auglab-decide "$sweep" --rope 0.01 --max-seeds 9 --budget-minutes 5
cat "$sweep/report/report.md"
