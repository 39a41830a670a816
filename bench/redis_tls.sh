#!/usr/bin/env bash
# What TLS to Redis costs a POST: the same workload on a server that
# reaches Redis over TCP and one that reaches another Redis over TLS
# (rediss://, the certificate verified against a CA made here), alternating
# rounds under the same wrk settings. Both Redis servers keep data in
# memory only. The table gives requests/s and what each POST costs: the
# server's and Redis' CPU time (from /proc), round trips and commands.
#   bench/redis_tls.sh [seconds] [connections] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

seconds="${1:-10}"
connections="${2:-64}"
rounds="${3:-3}"
sessions=1000

make_certificates() {
  local dir="$workdir/tls"
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bench CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=redis" \
    -keyout "$dir/redis.key" -out "$dir/redis.csr" 2>/dev/null
  echo "subjectAltName=IP:127.0.0.1" >"$dir/redis.ext"
  openssl x509 -req -in "$dir/redis.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 2 -extfile "$dir/redis.ext" -out "$dir/redis.pem" 2>/dev/null
  TLS_DIR="$dir"
}

start_redis
PLAIN_REDIS_PID="${pids[-1]}"
start_motorhead
plain="http://127.0.0.1:$MOTORHEAD_PORT"
plain_pid="${pids[-1]}"

make_certificates
reserve_ports TLS_PORT 1
mkdir -p "$workdir/tls-redis"
redis-server --port 0 --tls-port "$TLS_PORT" --bind 127.0.0.1 --save "" \
  --appendonly no --dir "$workdir/tls-redis" \
  --tls-cert-file "$TLS_DIR/redis.pem" --tls-key-file "$TLS_DIR/redis.key" \
  --tls-ca-cert-file "$TLS_DIR/ca.pem" --tls-auth-clients no >/dev/null &
pids+=($!)
TLS_REDIS_PID=$!
wait_for redis-cli --tls --cacert "$TLS_DIR/ca.pem" -p "$TLS_PORT" ping
start_motorhead REDIS_URL="rediss://127.0.0.1:$TLS_PORT" \
  MOTORHEAD_REDIS_TLS_CA="$TLS_DIR/ca.pem"
tls="http://127.0.0.1:$MOTORHEAD_PORT"
tls_pid="${pids[-1]}"

warm_sessions "$plain" "$tls"

for _ in $(seq "$rounds"); do
  post_run tcp "$plain" "$plain_pid" "$PLAIN_REDIS_PID"
  post_run tls "$tls" "$tls_pid" "$TLS_REDIS_PID"
done

post_runs_table "TLS / TCP" tcp "Redis over TCP" tls "Redis over TLS"
