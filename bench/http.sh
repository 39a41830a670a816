#!/usr/bin/env bash
# HTTP throughput and latency of one node: GET and POST of /sessions/{id}/memory
# with wrk, against a redis-server and build/motorhead started here on free
# loopback ports. Prints one line per run; compare runs on the same machine.
#   bench/http.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

seconds="${1:-10}"
connections="${2:-32}"
start_redis
start_motorhead
url="http://127.0.0.1:$MOTORHEAD_PORT"
curl -sf -X POST "$url/sessions/bench/memory" -H 'Content-Type: application/json' \
  -d '{"messages":[{"role":"Human","content":"hello"}]}' >/dev/null

report "GET  one session" wrk -t2 -c"$connections" -d"${seconds}s" --latency "$url/sessions/bench/memory"
report "POST 1000 sessions" wrk -t2 -c"$connections" -d"${seconds}s" --latency \
  -s bench/lua/post_memory.lua "$url"
