#!/usr/bin/env bash
# The radiotherapy workload (Benchmarks/pathways.py) against a release build of Hygie with the
# demonstration department, on the embedded SQLite database; prints the demo's load time and a
# Markdown table. Loopback only; the server is stopped by its PID at the end.
#
#   Benchmarks/pathways.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-50}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
work=$(mktemp -d /tmp/hygie-pathways-bench.XXXXXX)
swift build -c release --product hygie >/dev/null
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
start=$(date +%s%N)
.build/release/hygie serve --demo-open --data-dir "$work" --port "$port" >"$work/server.log" 2>&1 &
server=$!
until curl -sf -o /dev/null "http://127.0.0.1:$port/health/ready"; do
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
echo "demo loaded and ready in $(( ($(date +%s%N) - start) / 1000000 )) ms"
python3 Benchmarks/pathways.py "http://127.0.0.1:$port" "$rounds"
