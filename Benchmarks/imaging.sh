#!/usr/bin/env bash
# The imaging workload (Benchmarks/imaging.py) against a release build of Hygie on SQLite or
# PostgreSQL, with DIMSE on and the bench peers configured; then, when the Orthanc run's
# results are given, the side-by-side table (Benchmarks/imaging_compare.py).
#
#   Benchmarks/imaging.sh sqlite   [DATA_DIR] [ORTHANC_RESULTS_JSON]
#   Benchmarks/imaging.sh postgres [DATA_DIR] [ORTHANC_RESULTS_JSON]
#
# DATA_DIR holds the sets ../shared/bench/orthanc/gen_data.py generates (default: the
# directory ../shared/bench/orthanc/run.sh generated into, /tmp/orthanc-bench-work/data).
# Loopback only; the server is stopped by its PID at the end, and the archive it wrote (some
# 650 MB) removed unless KEEP_DATA=1.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-sqlite}
data=${2:-/tmp/orthanc-bench-work/data}
orthanc=${3:-}
if [ ! -d "$data/many_64" ]; then
  echo "No generated data in $data: run ../shared/bench/orthanc/gen_data.py $data first." >&2
  exit 1
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
port=$(free_port)
dimse=$(free_port)
work=$(mktemp -d /tmp/hygie-imaging-bench.XXXXXX)
out=${OUT:-$work/results}
swift build -c release --product hygie >/dev/null
source scripts/postgres.sh
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  pg_stop
  [ "${KEEP_DATA:-0}" = 1 ] || rm -rf "$work/data"
}
trap cleanup EXIT
cat >"$work/peers.json" <<JSON
[{"aeTitle": "BENCHSCU", "host": "127.0.0.1", "port": 11114, "account": "tech.bench"},
 {"aeTitle": "BENCHSCP", "host": "127.0.0.1", "port": 11113, "account": "tech.bench"}]
JSON
export HYGIE_RATE_LIMIT_ACCOUNT=0 HYGIE_RATE_LIMIT_ADDRESS=0 HYGIE_LOG_LEVEL=warning TCP_NODELAY=1
if [ "$mode" = postgres ]; then
  pg_start
  export HYGIE_DATABASE_URL=$PG_URL HYGIE_BENCH_DATABASE=postgres
fi
.build/release/hygie serve --data-dir "$work/data" --port "$port" --dicom-port "$dimse" --dicom-peers "$work/peers.json" \
  >"$work/server.log" 2>&1 &
server=$!
until curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null; do sleep 0.2; done
python=${PYTHON:-.build/interop-venv/bin/python}; [ -x "$python" ] || python=python3
HYGIE_PID=$server "$python" Benchmarks/imaging.py "http://127.0.0.1:$port" "$dimse" "$data" "$out"
if [ -n "$orthanc" ]; then
  "$python" Benchmarks/imaging_compare.py "$orthanc" "$out/results.json"
fi
echo "results: $out/results.json (server log $work/server.log)"
