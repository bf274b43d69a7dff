#!/usr/bin/env bash
# Install (into .venv) everything the tests need, Chromium included, and run the whole suite.
# Usage: bash scripts/test.sh [pytest options]   (ATLAS_TEST_WORKERS=N: N parallel workers, default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

# The browser tests drive Debian's Chromium (Playwright's own browser download needs the
# internet). Install it, with a CJK font so screenshots show Chinese, when it is missing; the PDF
# export test renders pages with poppler's pdftoppm. The DuckLake tests (issue 17) start their own
# PostgreSQL (tests/pgserver.py: Debian's server binaries, no service) and put app servers behind
# Debian's nginx.
if [ ! -x /usr/bin/chromium ] || ! command -v pdftoppm >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
   || [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO="none"; fi
  if [ "$SUDO" != none ] && command -v apt-get >/dev/null; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk poppler-utils \
      postgresql nginx >/dev/null
  else
    echo "warning: chromium, pdftoppm, postgresql or nginx is missing and cannot be installed here; their tests will fail" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# Browser tests must run, not skip, wherever this script runs (CI included).
export ATLAS_REQUIRE_BROWSER=1
# and so must the DuckLake tests on their own PostgreSQL
export ATLAS_REQUIRE_POSTGRES=1
# Two workers (pytest-xdist), each taking whole test files so that a module's app server and
# browser start once; ATLAS_TEST_WORKERS=0 runs everything in this one process.
exec .venv/bin/python -m pytest -n "${ATLAS_TEST_WORKERS:-2}" --dist loadfile "$@"
