#!/usr/bin/env bash
# The project's test command (README's `make test`; CI's .ci/run calls it): installs what the tests need,
# makes sure the local PostgreSQL is up, lints, and runs the whole test suite and the package's doctests.
# Arguments go to pytest: `bash tools/test.sh -k resume -x`, `bash tools/test.sh -m "not slow and not browser"`.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
bash tools/install.sh dev

# PostgreSQL-backed tests need the local server; start it if it is down (the machine notes' command).
if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi

# The dashboard tests drive headless Chromium through Playwright; Playwright's own browser download does not
# work offline, so the tests use Debian's package (they skip, saying so, where it cannot be installed).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) || echo "could not install chromium" >&2
fi

"$VENV/bin/ruff" check src tests benchmarks
# --doctest-modules runs every example in the package's docstrings beside the tests (pyproject's addopts keep
# Alembic's env.py out: Alembic runs it, it is not a module to import).
"$VENV/bin/python" -m pytest -q --doctest-modules src/storemood tests "$@"

# What a plain `pip install storemood-*.whl` gives, from outside the source tree (issue: pip install just works).
# `make test-fast` sets WHEEL_CHECK=0 to leave it out.
if [ "${WHEEL_CHECK:-1}" != 0 ]; then
  VENV=$VENV PYTHON=${PYTHON:-python3} bash tools/wheel_check.sh
fi
