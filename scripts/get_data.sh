#!/usr/bin/env bash
# Install the embedded default data set, Fashion-MNIST: Debian's package where apt works, else a
# download into data/fashion-mnist, else a message saying exactly what to do.
set -uo pipefail
cd "$(dirname "$0")/.."

debian=/usr/share/datasets/fashion-mnist
local_dir=data/fashion-mnist
has_files() { [ -f "$1/train-images-idx3-ubyte.gz" ] && [ -f "$1/t10k-labels-idx1-ubyte.gz" ]; }

if has_files "$debian" || has_files "$local_dir"; then
  exit 0
fi

if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo -n"
  if [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; then
    echo "data: installing Debian package dataset-fashion-mnist"
    if ! $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; then
      $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1
    fi
    has_files "$debian" && exit 0
  fi
fi

echo "data: trying a download into $local_dir"
if .venv/bin/python -m auglab.data.sources.fashion_mnist --download "$local_dir" && has_files "$local_dir"; then
  exit 0
fi

cat >&2 <<MSG
data: Fashion-MNIST is not installed and could not be fetched. Do one of:
  - as root: apt-get install dataset-fashion-mnist        (files land in $debian)
  - copy the four *-ubyte.gz files of Fashion-MNIST into $local_dir/
  - run with data.root=/path/to/the/files
MSG
exit 1
