#!/usr/bin/env bash
# Creates the virtual environment and installs storemood into it.
#   tools/install.sh runtime   the runtime only: detect, run, report, serve, demo (no training framework)
#   tools/install.sh dev       runtime + training extra (PyTorch CPU) + test tools
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
what=${1:-runtime}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
"${pip[@]}" --upgrade pip
case "$what" in
  runtime) "${pip[@]}" -e . ;;
  dev) "${pip[@]}" -e '.[train,dev]' ;;
  *) echo "usage: tools/install.sh runtime|dev" >&2; exit 2 ;;
esac
