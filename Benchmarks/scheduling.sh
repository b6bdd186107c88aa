#!/usr/bin/env bash
# Measures the appointment workflow (Benchmarks/scheduling.py) on a release build with the
# demonstration deployment, on SQLite or PostgreSQL. Prints figures only.
#
#   Benchmarks/scheduling.sh sqlite   [rounds]
#   Benchmarks/scheduling.sh postgres [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-sqlite}
rounds=${2:-40}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
work=$(mktemp -d /tmp/hygie-bench.XXXXXX)
swift build -c release --product hygie >/dev/null
source scripts/postgres.sh
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT
export HYGIE_RATE_LIMIT_ACCOUNT=0 HYGIE_RATE_LIMIT_ADDRESS=0 HYGIE_LOG_LEVEL=warning
if [ "$mode" = postgres ]; then
  pg_start
  export HYGIE_DATABASE_URL=$PG_URL
fi
started=$(date +%s.%N)
.build/release/hygie serve --data-dir "$work/data" --port "$port" --demo-open >"$work/server.log" 2>&1 &
server=$!
until curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null; do sleep 0.2; done
echo "mode $mode: server ready with the demo deployment in $(python3 -c "print(round($(date +%s.%N) - $started, 1))") s"
python=${PYTHON:-.build/interop-venv/bin/python}; [ -x "$python" ] || python=python3
"$python" Benchmarks/scheduling.py "http://127.0.0.1:$port" "$rounds"
