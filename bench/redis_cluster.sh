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

warm_sessions "$single" "$cluster"

for _ in $(seq "$rounds"); do
  post_run single "$single" "$single_pid" "${SINGLE_PIDS[@]}"
  post_run cluster "$cluster" "$cluster_pid" "${CLUSTER_PIDS[@]}"
done

post_runs_table "Redis Cluster / one Redis" single "one Redis" \
  cluster "Redis Cluster, 3 masters"
