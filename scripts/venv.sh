#!/usr/bin/env bash
# Create the project's virtualenv from nothing and install plume-fleet with its test tools and the
# emulator (the `emulator` extra: make lab, make test and the benchmarks all run it).
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "plume-fleet needs Python >= 3.11; '$python' is $("$python" --version 2>&1). Set PYTHON=python3.11 (or newer) and retry." >&2
  exit 1
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e '.[test,emulator,redis,discover]'
