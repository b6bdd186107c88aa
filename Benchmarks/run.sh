#!/usr/bin/env bash
# Reproduces docs/benchmarks.md: builds in release mode, starts `hygie serve` on a fresh
# database, ingests synthetic patients through 100-entry transaction Bundles, then measures
# each request scenario. Prints figures only; nothing is asserted.
#
#   Benchmarks/run.sh sqlite   [patients] [seconds per scenario]
#   Benchmarks/run.sh postgres [patients] [seconds per scenario]
#
# Each patient comes with 1 encounter, 1 condition and 10 observations (13 resources), so
# 100000 patients make 1.3 million resources, 1 million of them Observations.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${1:-sqlite}
patients=${2:-100000}
seconds=${3:-20}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
work=$(mktemp -d /tmp/hygie-bench.XXXXXX)

swift build -c release --product hygie >/dev/null
swift build -c release --product hygie-bench >/dev/null

source scripts/postgres.sh
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT

# A load generator is one client sending far more than a person would: no rate limits here.
export HYGIE_DATA_DIR="$work/data" HYGIE_PORT=$port HYGIE_LOG_LEVEL=warning HYGIE_RATE_LIMIT_ACCOUNT=0 HYGIE_RATE_LIMIT_ADDRESS=0
if [ "$mode" = postgres ]; then
  PG_EXTRA_OPTIONS="-c max_wal_size=8GB -c checkpoint_timeout=30min -c wal_buffers=16MB" pg_start
  export HYGIE_DATABASE_URL=$PG_URL
fi
"$root/.build/release/hygie" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.5; done

# The benchmark runs as a backend client with system/*.*.
export HYGIE_TOKEN=$(scripts/system-token "http://127.0.0.1:$port")
echo "== $mode, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), hygie $(git rev-parse --short HEAD)"
bench="$root/.build/release/hygie-bench"
url="http://127.0.0.1:$port/fhir"
"$bench" generate --url "$url" --patients "$patients" --concurrency 2 | tail -n 3
echo "== database size: $(du -sh "$work/data" 2>/dev/null | cut -f1) (SQLite) / $( [ "$mode" = postgres ] && psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atc "select pg_size_pretty(pg_database_size('hygie'))" hygie || echo n/a) (PostgreSQL)"
echo "== 16 requests in flight"
"$bench" run --url "$url" --duration "$seconds" --concurrency 16
echo "== 4 requests in flight"
"$bench" run --url "$url" --duration "$seconds" --concurrency 4 --scenario read,search-name,search-identifier,search-observation,search-include
