#!/usr/bin/env bash
# The cost of the `data` envelope (MOTORHEAD_DATA_ENVELOPE) on GET memory:
# a full window of 12 messages of ~300 bytes, read with wrk from a server
# with the envelope and from one without, in the same run.
#   bench/envelope.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

seconds="${1:-10}"
connections="${2:-32}"
start_redis
text=$(printf 'a sentence of about sixty bytes, repeated to fill a turn. %.0s' 1 2 3 4 5)
messages=$(for i in $(seq 1 12); do
  printf '{"role":"Human","content":"%s %d"},' "$text" "$i"; done)
body="{\"messages\":[${messages%,}]}"

for envelope in true false; do
  start_motorhead MOTORHEAD_DATA_ENVELOPE="$envelope"
  url="http://127.0.0.1:$MOTORHEAD_PORT/sessions/bench-$envelope/memory"
  curl -sf -X POST "$url" -H 'Content-Type: application/json' -d "$body" >/dev/null
  bytes=$(curl -sf "$url" | wc -c)
  report "envelope=$envelope ($bytes B)" wrk -t2 -c"$connections" \
    -d"${seconds}s" --latency "$url"
done
