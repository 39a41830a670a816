#!/usr/bin/env bash
# Scale-out of the cluster on this machine, in one run:
#  1. POST throughput of one node versus three nodes (wrk on each node at
#     once, summed), as a ratio;
#  2. GET latency of a session owned by the node asked versus one owned by
#     another node (forwarded through CAF), as a ratio.
#   bench/scale_out.sh [seconds]
# On a 2-core machine the three nodes, Redis and wrk share the same cores:
# the ratio says what scale-out costs there, not what it gains on more.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
seconds="${1:-10}"

post_rps() { # url
  wrk -t1 -c16 -d"${seconds}s" -s bench/lua/post_memory.lua "$1" \
    | awk '/^Requests\/sec/ { print $2 }'
}

start_redis
start_motorhead
single="$(post_rps "http://127.0.0.1:$MOTORHEAD_PORT")"

reserve_ports cluster_ports 3
peers="127.0.0.1:${cluster_ports[0]},127.0.0.1:${cluster_ports[1]},127.0.0.1:${cluster_ports[2]}"
http_ports=()
for port in "${cluster_ports[@]}"; do
  start_motorhead MOTORHEAD_CLUSTER_PEERS="$peers" MOTORHEAD_CLUSTER_PORT="$port"
  http_ports+=("$MOTORHEAD_PORT")
done
first="http://127.0.0.1:${http_ports[0]}"
wait_for sh -c "curl -sf $first/cluster | grep -q '${cluster_ports[2]}'"

results="$workdir/cluster-rps"
for port in "${http_ports[@]}"; do
  post_rps "http://127.0.0.1:$port" >>"$results" &
done
sleep "$((seconds + 2))"
three="$(awk '{ sum += $1 } END { printf "%.0f", sum }' "$results")"

# A session owned by the first node, and one owned by another.
local_session="" remote_session=""
for i in $(seq 1000); do
  owner="$(curl -sf "$first/cluster?session=lat$i" | python3 -c 'import json,sys; print(json.load(sys.stdin)["owner"])')"
  if [ "$owner" = "127.0.0.1:${cluster_ports[0]}" ]; then
    [ -z "$local_session" ] && local_session="lat$i"
  else
    [ -z "$remote_session" ] && remote_session="lat$i"
  fi
  [ -n "$local_session" ] && [ -n "$remote_session" ] && break
done
for session in "$local_session" "$remote_session"; do
  curl -sf -X POST "$first/sessions/$session/memory" -H 'Content-Type: application/json' \
    -d '{"messages":[{"role":"Human","content":"hello"}]}' >/dev/null
done
p50() { # session
  SESSION="$1" wrk -t1 -c4 -d"${seconds}s" --latency -s bench/lua/get_memory.lua "$first" \
    | awk '/^ +50%/ { v = $2; if (v ~ /ms$/) { sub("ms", "", v); v *= 1000 } else { sub("us", "", v) }; print v }'
}
local_us="$(p50 "$local_session")"
remote_us="$(p50 "$remote_session")"

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
echo "POST throughput: 1 node $single req/s, 3 nodes $three req/s, ratio $(ratio "$three" "$single")"
echo "GET p50 latency: local $local_us us, forwarded $remote_us us, ratio $(ratio "$remote_us" "$local_us")"
