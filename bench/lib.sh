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
