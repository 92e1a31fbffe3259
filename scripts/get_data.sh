#!/usr/bin/env bash
# Install the embedded default data: Fashion-MNIST (images), WordNet 3.0 (EDA synonyms), the Amazon
# fine-food reviews (text) and Apertium English<->Spanish (back-translation) from Debian's packages where apt
# works; Fashion-MNIST can also be downloaded into data/fashion-mnist. The EDA paper's benchmark goes to
# data/eda_benchmark (from ../shared/data/eda beside a checkout that has it, else downloaded); without it only
# data=eda_benchmark is unavailable. Anything else still missing ends with a message saying what to do.
set -uo pipefail
cd "$(dirname "$0")/.."

fmnist=/usr/share/datasets/fashion-mnist
local_dir=data/fashion-mnist
has_fmnist() { [ -f "$1/train-images-idx3-ubyte.gz" ] && [ -f "$1/t10k-labels-idx1-ubyte.gz" ]; }
has_wordnet() { [ -f "${AUGLAB_WORDNET_DIR:-/usr/share/wordnet}/data.noun" ] && [ -f "${AUGLAB_WORDNET_DIR:-/usr/share/wordnet}/index.sense" ]; }
has_fine_foods() { [ -f /usr/lib/R/site-library/modeldata/data/Rdata.rdx ]; }
has_apertium() { command -v apertium >/dev/null 2>&1 && apertium -l 2>/dev/null | grep -E "^\s*eng-spa\s*$" >/dev/null; }  # no -q: an early exit would SIGPIPE apertium (pipefail)

eda_dir=data/eda_benchmark
if [ ! -f "$eda_dir/test/trec/test.txt" ]; then
  if [ -f ../shared/data/eda/test/trec/test.txt ]; then
    echo "data: copying the EDA benchmark from ../shared/data/eda into $eda_dir"
    mkdir -p "$eda_dir" && cp -r ../shared/data/eda/. "$eda_dir/"
  elif ! .venv/bin/python -m auglab.data.sources.eda_benchmark --download "$eda_dir" >/dev/null 2>&1; then
    echo "data: the EDA benchmark (data=eda_benchmark) could not be fetched; where there is internet:" \
         "python -m auglab.data.sources.eda_benchmark --download $eda_dir" >&2
  fi
fi

missing=()
has_fmnist "$fmnist" || has_fmnist "$local_dir" || missing+=(dataset-fashion-mnist)
has_wordnet || missing+=(wordnet-base wordnet-sense-index)
has_fine_foods || missing+=(r-cran-modeldata)
has_apertium || missing+=(apertium apertium-eng-spa)
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo -n"
  if [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; then
    echo "data: installing Debian packages ${missing[*]}"
    if ! $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
      $sudo apt-get update -q >/dev/null 2>&1 &&
        $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1
    fi
  fi
fi

status=0
if ! has_fmnist "$fmnist" && ! has_fmnist "$local_dir"; then
  echo "data: trying a download of Fashion-MNIST into $local_dir"
  if ! .venv/bin/python -m auglab.data.sources.fashion_mnist --download "$local_dir" || ! has_fmnist "$local_dir"; then
    cat >&2 <<MSG
data: Fashion-MNIST is not installed and could not be fetched. Do one of:
  - as root: apt-get install dataset-fashion-mnist        (files land in $fmnist)
  - copy the four *-ubyte.gz files of Fashion-MNIST into $local_dir/
  - run with data.root=/path/to/the/files
MSG
    status=1
  fi
fi
if ! has_wordnet; then
  echo "data: WordNet is missing (EDA's synonyms): as root, apt-get install wordnet-base wordnet-sense-index," \
       "or set AUGLAB_WORDNET_DIR to a WordNet 3.0 dict folder" >&2
  status=1
fi
if ! has_fine_foods; then
  echo "data: the fine-food reviews are missing: as root, apt-get install r-cran-modeldata," \
       "or run with data.root=<a modeldata/data folder>" >&2
  status=1
fi
if ! has_apertium; then
  echo "data: Apertium English<->Spanish is missing (augment=back_translation): as root," \
       "apt-get install apertium apertium-eng-spa" >&2
fi
exit $status
