#!/usr/bin/env bash
# Install (into .venv) and start Federation Atlas. On first start the app builds the demo city.
# Usage: bash scripts/run.sh [extra streamlit options, e.g. --server.port 8600]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
exec .venv/bin/python -m streamlit run app.py "$@"
