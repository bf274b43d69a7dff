#!/usr/bin/env bash
# Start N app servers on one atlas, for nginx to share the browsers out among them
# (deploy/nginx/atlas.conf; README, "Several app servers behind nginx"). Each is
# `streamlit run app.py`, headless, on ADDRESS:FIRST_PORT … FIRST_PORT+N-1, with the same ATLAS_DB
# (and ATLAS_DATA_PATH); their output comes here, each line tagged with its port. Ctrl-C (or a
# TERM to this script) stops them all.
# Usage: ATLAS_DB=ducklake:postgres:... ATLAS_DATA_PATH=/srv/atlas/lake/ bash scripts/serve_many.sh N FIRST_PORT [ADDRESS]
#        (ADDRESS defaults to 127.0.0.1: only nginx on this machine reaches them)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
usage="usage: ATLAS_DB=... bash scripts/serve_many.sh N FIRST_PORT [ADDRESS]"
N=${1:?$usage}
FIRST_PORT=${2:?$usage}
ADDRESS=${3:-127.0.0.1}
if ! [[ "$N" =~ ^[1-9][0-9]*$ && "$FIRST_PORT" =~ ^[1-9][0-9]*$ ]]; then
  echo "$usage" >&2
  exit 2
fi
# Every server must open the same atlas, and none may build the demo on its first start (N
# processes would each start building one file): an existing database or a lake, named.
if [ -z "${ATLAS_DB:-}" ]; then
  echo "error: set ATLAS_DB to the atlas all servers share (a lake: ducklake:postgres:...)" >&2
  exit 2
fi
if [[ "$ATLAS_DB" != ducklake:* && ! -e "$ATLAS_DB" ]]; then
  echo "error: no database at $ATLAS_DB (build or import it first)" >&2
  exit 2
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt

pids=()
stop() {
  trap - EXIT INT TERM
  kill "${pids[@]}" 2>/dev/null || true
  wait
}
trap stop EXIT INT TERM
for ((i = 0; i < N; i++)); do
  port=$((FIRST_PORT + i))
  .venv/bin/python -m streamlit run app.py --server.headless true \
    --server.address "$ADDRESS" --server.port "$port" > >(sed -u "s/^/[$port] /") 2>&1 &
  pids+=("$!")
  echo "[$port] app server $((i + 1)) of $N: http://$ADDRESS:$port (pid $!)"
done
wait
