# Helpers shared by the benchmark scripts: servers on loopback ports held
# for them, stopped by PID when the script exits.

pids=()
workdir="$(mktemp -d)"
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT

# reserve_ports VAR COUNT [--with-bus]: sets the array VAR to COUNT loopback
# ports held for servers this script starts, until it exits (see
# tests/http/reserve_ports.py): no other process binds them meanwhile.
reserve_ports() {
  local var="$1"; shift
  local fifo="$workdir/ports-$BASHPID-$RANDOM"
  mkfifo "$fifo"
  setpriv --pdeathsig KILL -- python3 tests/http/reserve_ports.py "$@" >"$fifo" &
  pids+=($!)
  read -r -a "$var" <"$fifo"
  rm "$fifo"
}

wait_for() {
  for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "timed out waiting for: $*" >&2
  return 1
}

start_redis() {
  reserve_ports REDIS_PORT 1
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$workdir" >/dev/null &
  pids+=($!)
  wait_for redis-cli -p "$REDIS_PORT" ping
}

# start_motorhead [VAR=value ...]: one server on a port of its own, using
# REDIS_PORT.
# MOTORHEAD_BINARY picks the build; MOTORHEAD_PRELOAD, a library preloaded
# into the server alone (an allocator to compare), not into wrk or Redis.
start_motorhead() {
  reserve_ports MOTORHEAD_PORT 1
  env PORT="$MOTORHEAD_PORT" MOTORHEAD_HOST=127.0.0.1 \
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
    ${MOTORHEAD_PRELOAD:+LD_PRELOAD="$MOTORHEAD_PRELOAD"} "$@" \
    "${MOTORHEAD_BINARY:-build/motorhead}" >"$workdir/motorhead-$MOTORHEAD_PORT.log" 2>&1 &
  pids+=($!)
  wait_for curl -sf "http://127.0.0.1:$MOTORHEAD_PORT/"
}

# Redis writing every change to its append-only file before it answers
# (appendfsync always), as a durable POST needs; sets REDIS_PID.
start_durable_redis() {
  reserve_ports REDIS_PORT 1
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
    --appendonly yes --appendfsync always --dir "$workdir" >/dev/null &
  REDIS_PID=$!
  pids+=($!)
  wait_for redis-cli -p "$REDIS_PORT" ping
}

# start_nginx DIR: nginx serving the files of DIR (the answers the server
# gives, as the reference for its GETs) with one worker per core; sets
# NGINX_PORT and NGINX_PID (its master: its workers are children).
start_nginx() {
  reserve_ports NGINX_PORT 1
  mkdir -p "$workdir/nginx"
  cp -r "$1" "$workdir/nginx/root"
  # nginx started as root serves as an unprivileged user: it must be able
  # to reach the files.
  chmod -R a+rX "$workdir"
  cat >"$workdir/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $workdir/nginx/nginx.pid;
error_log $workdir/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  default_type application/json;
  client_body_temp_path $workdir/nginx;
  proxy_temp_path $workdir/nginx;
  fastcgi_temp_path $workdir/nginx;
  uwsgi_temp_path $workdir/nginx;
  scgi_temp_path $workdir/nginx;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $workdir/nginx/root;
  }
}
EOF
  nginx -c "$workdir/nginx/nginx.conf" -p "$workdir/nginx" &
  NGINX_PID=$!
  pids+=($!)
  wait_for curl -sf "http://127.0.0.1:$NGINX_PORT/$(ls "$1" | head -1)"
}

# A cluster of three nodes on a Redis of its own (nodes that share a Redis
# are one cluster), each binding its cluster port itself; extra arguments
# are settings of every node. Sets CLUSTER_URL (the first node's),
# CLUSTER_PIDS and CLUSTER_REDIS_PID, and warms the GET sessions g0, g1,
# ... through the first node.
start_cluster() {
  local single_redis_port="$REDIS_PORT" nodes=() urls=()
  start_redis
  CLUSTER_REDIS_PID="${pids[-1]}"
  for _ in 1 2 3; do
    start_motorhead "$@"
    nodes+=("${pids[-1]}")
    urls+=("http://127.0.0.1:$MOTORHEAD_PORT")
  done
  REDIS_PORT="$single_redis_port"
  CLUSTER_URL="${urls[0]}"
  CLUSTER_PIDS="${nodes[*]}"
  local url
  for url in "${urls[@]}"; do # every node's view, not only the first's
    wait_for sh -c "curl -sf $url/cluster | python3 -c 'import json, sys; sys.exit(len(json.load(sys.stdin)[\"members\"]) != 3)'"
  done
  for i in $(seq 0 $((sessions - 1))); do
    curl -sf -X POST "$CLUSTER_URL/sessions/g$i/memory" -H 'Content-Type: application/json' \
      -d '{"messages":[{"role":"Human","content":"a warm session"}]}' >/dev/null
  done
}

# cpu_ticks PID...: the CPU time (user + system, in clock ticks) the
# processes and their children (nginx's workers) have used so far.
cpu_ticks() {
  local pid total=0
  for pid in "$@" $(pgrep -P "$(IFS=,; echo "$*")" || true); do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# report LABEL wrk ARGS...: runs wrk and prints requests/s and p50/p99.
report() {
  local label="$1"; shift
  "$@" | awk -v label="$label" '
    /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
    /^Requests\/sec/ { rps = $2 }
    END { printf "%-20s %10s req/s   p50 %8s   p99 %8s\n", label, rps, p50, p99 }'
}

# -- POST runs compared: alternating wrk runs against two setups ------------

# metric SERVER NAME: a counter of the server's /metrics.
metric() {
  curl -sf "$1/metrics" | awk -v name="$2" '$1 == name { print $2 }'
}

# warm_sessions SERVER...: a message in each of the $sessions sessions the
# POST runs write to, on every server, so that every run finds them.
warm_sessions() {
  local server i
  for server in "$@"; do
    for i in $(seq 0 $((sessions - 1))); do
      curl -sf -X POST "$server/sessions/s$i/memory" -H 'Content-Type: application/json' \
        -d '{"messages":[{"role":"Human","content":"a warm session"}]}' >/dev/null
    done
  done
}

# post_run LABEL SERVER SERVER_PID REDIS_PIDS...: one wrk run of POSTs to
# $sessions sessions ($seconds s, $connections connections); appends
# "label rps p50 p99 requests server_ticks redis_ticks trips commands" to
# $workdir/runs.
post_run() {
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

# post_runs_table RATIO_TITLE LABEL_A NAME_A LABEL_B NAME_B: the table of
# the runs post_run recorded (medians; CPU per request of the server and
# of Redis; round trips and commands per request), and B's median
# requests/s over A's.
post_runs_table() {
  python3 - "$workdir/runs" "$(getconf CLK_TCK)" "$(git describe --always --dirty)" \
    "$seconds" "$connections" "$rounds" "$sessions" "$@" <<'EOF'
import statistics, sys
(runs, hz, commit, seconds, connections, rounds, sessions, title,
 label_a, name_a, label_b, name_b) = sys.argv[1:]
hz = float(hz)
rows = {}
for line in open(runs):
    label, rps, p50, p99, requests, server, redis, trips, commands = line.split()
    rows.setdefault(label, []).append(dict(
        rps=float(rps), p50=p50, p99=p99, requests=float(requests),
        server=float(server), redis=float(redis), trips=float(trips),
        commands=float(commands)))
names = {label_a: name_a, label_b: name_b}
print(f"commit {commit}; POST of one message to one of {sessions} sessions; "
      f"wrk -t2 -c{connections}, {seconds} s per run, {rounds} alternating "
      "rounds (median shown); Redis appendonly no\n")
print("| store | req/s (median) | runs | p50 | p99 | server CPU µs/req | "
      "Redis CPU µs/req | round trips/req | commands/req |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
medians = {}
for label in (label_a, label_b):
    runs_of = rows[label]
    middle = sorted(runs_of, key=lambda r: r["rps"])[len(runs_of) // 2]
    per = lambda key: sum(r[key] for r in runs_of) / sum(r["requests"] for r in runs_of)
    medians[label] = statistics.median(r["rps"] for r in runs_of)
    each = ", ".join(f"{r['rps']:,.0f}" for r in runs_of)
    print(f"| {names[label]} | {medians[label]:,.0f} | {each} | {middle['p50']} | "
          f"{middle['p99']} | {per('server') / hz * 1e6:.1f} | "
          f"{per('redis') / hz * 1e6:.1f} | {per('trips'):.3f} | "
          f"{per('commands'):.2f} |")
print(f"\n{title}: {medians[label_b] / medians[label_a]:.2f}")
EOF
}
