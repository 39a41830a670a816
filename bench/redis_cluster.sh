#!/usr/bin/env bash
# POST throughput on one Redis against a Redis Cluster of three masters, in
# the same run, alternating rounds under the same wrk settings. Both Redis
# setups keep data in memory only (appendonly no), so that what differs is
# the routing: on the cluster, one pipeline per master, and the session
# index and namespace lists updated by a second round trip.
#
# On one machine the cluster cannot be faster (its three servers share the
# same cores), so the table also gives what each POST costs: the server's
# CPU time per request (from /proc), the Redis servers' CPU time per
# request, and the round trips and commands per request (from /metrics).
#   bench/redis_cluster.sh [seconds] [connections] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

seconds="${1:-10}"
connections="${2:-64}"
rounds="${3:-3}"
sessions=1000

start_cluster() {
  CLUSTER_PIDS=()
  local nodes=() ports
  reserve_ports ports 3 --with-bus
  for i in 1 2 3; do
    local port="${ports[$((i - 1))]}"
    mkdir -p "$workdir/cluster-$i"
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
      --dir "$workdir/cluster-$i" --cluster-enabled yes \
      --cluster-config-file nodes.conf >/dev/null &
    pids+=($!)
    CLUSTER_PIDS+=($!)
    wait_for redis-cli -p "$port" ping
    nodes+=("127.0.0.1:$port")
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-yes >/dev/null
  for node in "${nodes[@]}"; do
    wait_for sh -c "redis-cli -p ${node#*:} cluster info | grep -q cluster_state:ok"
  done
  CLUSTER_URL="redis://$(IFS=,; echo "${nodes[*]}")"
}

start_redis
SINGLE_PIDS=("${pids[-1]}")
start_motorhead
single="http://127.0.0.1:$MOTORHEAD_PORT"
single_pid="${pids[-1]}"

start_cluster
reserve_ports MOTORHEAD_PORT 1
env PORT="$MOTORHEAD_PORT" MOTORHEAD_HOST=127.0.0.1 REDIS_URL="$CLUSTER_URL" \
  MOTORHEAD_REDIS_MODE=cluster "${MOTORHEAD_BINARY:-build/motorhead}" \
  >"$workdir/motorhead-cluster.log" 2>&1 &
pids+=($!)
cluster_pid=$!
wait_for curl -sf "http://127.0.0.1:$MOTORHEAD_PORT/"
cluster="http://127.0.0.1:$MOTORHEAD_PORT"

for server in "$single" "$cluster"; do
  for i in $(seq 0 $((sessions - 1))); do
    curl -sf -X POST "$server/sessions/s$i/memory" -H 'Content-Type: application/json' \
      -d '{"messages":[{"role":"Human","content":"a warm session"}]}' >/dev/null
  done
done

metric() { # metric SERVER NAME
  curl -sf "$1/metrics" | awk -v name="$2" '$1 == name { print $2 }'
}

# run LABEL SERVER SERVER_PID REDIS_PIDS...: one wrk run; appends
# "label rps p50 p99 requests server_ticks redis_ticks trips commands".
run() {
  local label="$1" server="$2" server_pid="$3"; shift 3
  local ticks_before redis_before trips_before commands_before
  ticks_before="$(cpu_ticks "$server_pid")"
  redis_before="$(cpu_ticks "$@")"
  trips_before="$(metric "$server" motorhead_redis_round_trips_total)"
  commands_before="$(metric "$server" motorhead_redis_commands_total)"
  local result
  result="$(SESSIONS="$sessions" wrk -t2 -c"$connections" -d"${seconds}s" \
    --latency -s bench/lua/post_memory.lua "$server" | awk '
      /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
      /^Requests\/sec/ { rps = $2 }
      / requests in / { requests = $1 }
      END { print rps, p50, p99, requests }')"
  echo "$label $result" \
    "$(( $(cpu_ticks "$server_pid") - ticks_before ))" \
    "$(( $(cpu_ticks "$@") - redis_before ))" \
    "$(awk -v a="$(metric "$server" motorhead_redis_round_trips_total)" \
        -v b="$trips_before" 'BEGIN { print a - b }')" \
    "$(awk -v a="$(metric "$server" motorhead_redis_commands_total)" \
        -v b="$commands_before" 'BEGIN { print a - b }')" >>"$workdir/runs"
}

for _ in $(seq "$rounds"); do
  run single "$single" "$single_pid" "${SINGLE_PIDS[@]}"
  run cluster "$cluster" "$cluster_pid" "${CLUSTER_PIDS[@]}"
done

python3 - "$workdir/runs" "$(getconf CLK_TCK)" "$(git describe --always --dirty)" \
  "$seconds" "$connections" "$rounds" "$sessions" <<'EOF'
import statistics, sys
runs, hz, commit, seconds, connections, rounds, sessions = sys.argv[1:]
hz = float(hz)
rows = {}
for line in open(runs):
    label, rps, p50, p99, requests, server, redis, trips, commands = line.split()
    rows.setdefault(label, []).append(dict(
        rps=float(rps), p50=p50, p99=p99, requests=float(requests),
        server=float(server), redis=float(redis), trips=float(trips),
        commands=float(commands)))
names = {"single": "one Redis", "cluster": "Redis Cluster, 3 masters"}
print(f"commit {commit}; POST of one message to one of {sessions} sessions; "
      f"wrk -t2 -c{connections}, {seconds} s per run, {rounds} alternating "
      "rounds (median shown); Redis appendonly no\n")
print("| store | req/s (median) | runs | p50 | p99 | server CPU µs/req | "
      "Redis CPU µs/req | round trips/req | commands/req |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
medians = {}
for label, runs_of in rows.items():
    middle = sorted(runs_of, key=lambda r: r["rps"])[len(runs_of) // 2]
    per = lambda key: sum(r[key] for r in runs_of) / sum(r["requests"] for r in runs_of)
    medians[label] = statistics.median(r["rps"] for r in runs_of)
    each = ", ".join(f"{r['rps']:,.0f}" for r in runs_of)
    print(f"| {names[label]} | {medians[label]:,.0f} | {each} | {middle['p50']} | "
          f"{middle['p99']} | {per('server') / hz * 1e6:.1f} | "
          f"{per('redis') / hz * 1e6:.1f} | {per('trips'):.3f} | "
          f"{per('commands'):.2f} |")
print(f"\nRedis Cluster / one Redis: {medians['cluster'] / medians['single']:.2f}")
EOF
