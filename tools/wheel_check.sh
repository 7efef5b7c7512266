#!/usr/bin/env bash
# What a user gets from `pip install storemood-*.whl`: builds the wheel, installs it alone into a fresh virtual
# environment outside the source tree, runs `storemood demo` there, and prints the installed size.
# tools/test.sh (so CI) runs it after the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$VENV/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps -w "$work/dist" .
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$work"/dist/storemood-*.whl
cd "$work"  # nothing from the source tree is importable from here
"$work/venv/bin/storemood" demo --db "sqlite:///$work/demo.db"
echo "wheel check: storemood demo ran from a plain wheel install; environment $(du -sm "$work/venv" | cut -f1) MB"
