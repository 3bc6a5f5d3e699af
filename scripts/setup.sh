#!/usr/bin/env bash
# One set-up command for a fresh Debian/Ubuntu machine (run as root or with sudo available):
# WordNet + MyThes thesauri from the system packages, CPU torch, then unspin with its extras.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
if command -v apt-get >/dev/null; then
  if ! dpkg -s wordnet-base wordnet-sense-index mythes-en-us >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wordnet-base wordnet-sense-index mythes-en-us >/dev/null
  fi
fi
python -m pip install -q torch==2.13.0          # the CPU build; a looser pin pulls a multi-GB CUDA build
python -m pip install -q -e ".[test]"
