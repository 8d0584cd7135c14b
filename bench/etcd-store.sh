#!/usr/bin/env bash
# Benchmark of the etcd policy and key store (issue 3): prints one table of figures, targets and PASS/FAIL.
#
#   bench/etcd-store.sh               about 2.5 minutes
#
# 1. etcd put -> first request served by the new policy: for each of 100 models, put <prefix>models/bench-<i> (a
#    policy pointing at a fast local nginx backend) and poll the gateway every 1 ms on one persistent connection
#    until a chat completion for bench-<i> answers 200. Then revocation: 100 times, add a key record, wait for 200,
#    put it back with "disabled": true and poll until 401. Target: p99 <= 1000 ms ("refused within a second").
# 2. requests/s of a gateway on the etcd store vs one on the file store holding the same content (the file is
#    `policy get` of the etcd view), both started fresh, same nginx backend, wrk -t2 -c32 -d10s with bench/wrk-post.lua, 3 rounds
#    (file etcd | etcd file | file etcd) after a 30 s warm-up of each. Target: the same within +-10 % (requests never call etcd).
#
# Everything runs on 127.0.0.1, on ports BENCH_ETCD_PORT_BASE+1..+5 (default 19201-19205). Logs, generated configs and
# raw outputs go to bench/out/etcd-<timestamp>/ (bench/out/etcd-latest points at the last run); etcd's data
# directory is a temporary directory, removed on exit. Every process started here is stopped by PID on exit, on
# failure and on Ctrl-C too.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/bench

# ---- settings (environment overrides) -------------------------------------------------------------------------
PORT_BASE=${BENCH_ETCD_PORT_BASE:-19200}
CHANGES=${BENCH_CHANGES:-100}                 # models put, one after the other
REVOCATIONS=${BENCH_REVOCATIONS:-100}         # keys added then disabled
POLL_MS=${BENCH_POLL_MS:-1}                   # pause between two polls of the gateway
CHANGE_TIMEOUT_S=${BENCH_CHANGE_TIMEOUT_S:-5} # a change not served by then counts as this long (and fails)
TARGET_MS=${BENCH_TARGET_MS:-1000}
WRK_ARGS=${BENCH_WRK_ARGS:--t2 -c32 -d10s}
WRK_WARMUP=${BENCH_WRK_WARMUP:-30s}           # per gateway, same -t/-c, not recorded (the JIT still compiles after 20 s)
ROUNDS=${BENCH_ROUNDS:-3}                     # measured runs per gateway: file etcd | etcd file | file etcd
RPS_TOLERANCE_PCT=${BENCH_RPS_TOLERANCE_PCT:-10}

P_BACKEND=$((PORT_BASE + 1))   # nginx serving a static chat completion
P_ETCD=$((PORT_BASE + 2))      # etcd client port
P_ETCD_PEER=$((PORT_BASE + 3)) # etcd peer port (loopback, single member)
P_GW_ETCD=$((PORT_BASE + 4))   # gateway on the etcd store
P_GW_FILE=$((PORT_BASE + 5))   # gateway on the file store

KEY=sk-apirouter-bench
PREFIX=/api-router/
JAR=$ROOT/target/api-router.jar
ETCD_URL=http://127.0.0.1:$P_ETCD

# ---- prerequisites ---------------------------------------------------------------------------------------------
missing=()
for tool in wrk etcd etcdctl; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "etcd-store.sh: missing ${missing[*]}; install with: apt-get install -y wrk nginx etcd-server etcd-client" >&2
  exit 2
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
for tool in java python3 curl sha256sum timeout; do
  command -v "$tool" >/dev/null 2>&1 || { echo "etcd-store.sh: $tool is needed" >&2; exit 2; }
done

if [ ! -f "$JAR" ] || [ -n "$(find src routes pom.xml -newer "$JAR" -print -quit)" ]; then
  echo "etcd-store.sh: building $JAR ..." >&2
  mvn -B -q -o package -DskipTests || mvn -B -q package -DskipTests
fi

ME=etcd-store.sh
# shellcheck source=bench/lib.sh
source "$B/lib.sh"
for p in $P_BACKEND $P_ETCD $P_ETCD_PEER $P_GW_ETCD $P_GW_FILE; do
  if port_in_use "$p"; then
    echo "etcd-store.sh: port $p is in use; set BENCH_ETCD_PORT_BASE to another base" >&2
    exit 2
  fi
done

new_run etcd etcd-latest
mkdir -p "$RUN/data-etcd" "$RUN/data-etcd-rps" "$RUN/data-file"
ETCD_DATA=
on_exit() { [ -z "$ETCD_DATA" ] || [ ! -d "$ETCD_DATA" ] || rm -rf -- "$ETCD_DATA"; }

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# ---- machine and versions ---------------------------------------------------------------------------------------
rec date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
rec cores "$(nproc)"
rec load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
rec etcd "$(etcd --version 2>/dev/null | head -1)"
rec commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src routes pom.xml 2>/dev/null || echo '+dirty')"
rec wrk_args "$WRK_ARGS"
rec rounds "$ROUNDS"
rec poll_ms "$POLL_MS"
rec target_ms "$TARGET_MS"
rec rps_tolerance_pct "$RPS_TOLERANCE_PCT"
log "load average: $(cut -d' ' -f1-3 /proc/loadavg); results in $RUN"

# ---- the fast backend: nginx answering every request with a fixed chat completion ---------------------------------
COMPLETION='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-fast","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, nice to meet you."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":16,"completion_tokens":8,"total_tokens":24}}'
mkdir -p "$RUN/nginx-backend/tmp"
cat >"$RUN/nginx-backend/nginx.conf" <<EOF
# generated by bench/etcd-store.sh
worker_processes 1;
pid $RUN/nginx-backend/nginx.pid;
error_log $RUN/nginx-backend/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_body_temp_path $RUN/nginx-backend/tmp/body;
  proxy_temp_path $RUN/nginx-backend/tmp/proxy;
  fastcgi_temp_path $RUN/nginx-backend/tmp/fastcgi;
  uwsgi_temp_path $RUN/nginx-backend/tmp/uwsgi;
  scgi_temp_path $RUN/nginx-backend/tmp/scgi;
  server {
    listen 127.0.0.1:$P_BACKEND backlog=4096;
    location / { default_type application/json; return 200 '$COMPLETION'; }
  }
}
EOF
start_bg nginx-backend "$NGINX" -e "$RUN/nginx-backend/error.log" -p "$RUN/nginx-backend" \
  -c "$RUN/nginx-backend/nginx.conf" -g 'daemon off;'
PID_BACKEND=$LAST_PID
wait_http "http://127.0.0.1:$P_BACKEND/" 200 20 "$PID_BACKEND"

# ---- etcd: single member, loopback only, temporary data directory ------------------------------------------------
ETCD_DATA=$(mktemp -d /tmp/api-router-bench-etcd.XXXXXX)
log "starting etcd on :$P_ETCD (data $ETCD_DATA)"
start_bg etcd etcd --name b --data-dir "$ETCD_DATA" \
  --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
  --listen-peer-urls "http://127.0.0.1:$P_ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$P_ETCD_PEER" \
  --initial-cluster "b=http://127.0.0.1:$P_ETCD_PEER" --auto-compaction-retention=1h
PID_ETCD=$LAST_PID
wait_http "$ETCD_URL/health" 200 30 "$PID_ETCD"

# seed: the fast model and the bench key (models ["*"]), before the gateway starts
run_fg timeout 30 python3 "$B/etcd_store.py" seed --etcd "$ETCD_URL" --prefix "$PREFIX" \
  --backend "http://127.0.0.1:$P_BACKEND" --key "$KEY" >>"$RES"

# start_gateway NAME PORT DATA_DIR ENV=VALUE...: java -jar as documented, no JVM flags; waits for readyz 200.
# Management port 0 (a free one): two gateways run side by side, and nothing here reads it.
start_gateway() {
  local name=$1 port=$2 data=$3
  shift 3
  start_bg "$name" env -u ETCD_ENDPOINTS -u ROUTER_POLICY_FILE -u OTEL_EXPORTER_OTLP_ENDPOINT -u ROUTER_ETCD_PREFIX \
    ROUTER_HTTP_PORT="$port" ROUTER_HTTP_HOST=127.0.0.1 ROUTER_MANAGEMENT_PORT=0 ROUTER_MANAGEMENT_HOST=127.0.0.1 \
    ROUTER_SHUTDOWN_GRACE_MS=2000 ROUTER_DATA_DIR="$data" "$@" java -jar "$JAR"
  local pid=$LAST_PID
  wait_http "http://127.0.0.1:$port/v1/status/readyz" 200 90 "$pid"
  LAST_PID=$pid
}

smoke() { # smoke LABEL PORT: one completion through the gateway, or the run stops
  local out=$RUN/smoke-$1.txt code
  code=$(curl -s -o "$out" -w '%{http_code}' --max-time 10 "http://127.0.0.1:$2/v1/chat/completions" \
    -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"model":"bench-fast","messages":[{"role":"user","content":"hi"}],"max_tokens":4}' || true)
  if [ "$code" != 200 ] || ! grep -q '"chat.completion"' "$out"; then
    echo "etcd-store.sh: smoke request to $1 (:$2) answered $code: $(head -c 300 "$out")" >&2
    return 1
  fi
}

log "starting the gateway on the etcd store on :$P_GW_ETCD"
start_gateway gateway-etcd "$P_GW_ETCD" "$RUN/data-etcd" ETCD_ENDPOINTS="$ETCD_URL"
PID_GW_ETCD=$LAST_PID
smoke etcd "$P_GW_ETCD"

# ---- 1. propagation: put -> first 200, disable -> first 401 --------------------------------------------------------
rec put_load "$(load1)"
log "changes: $CHANGES models put one by one, polling every ${POLL_MS} ms until each is served"
run_fg timeout $((CHANGES * (CHANGE_TIMEOUT_S + 1) + 30)) python3 "$B/etcd_store.py" changes --etcd "$ETCD_URL" \
  --prefix "$PREFIX" --backend "http://127.0.0.1:$P_BACKEND" --key "$KEY" --gateway "http://127.0.0.1:$P_GW_ETCD" \
  --n "$CHANGES" --poll-ms "$POLL_MS" --timeout-s "$CHANGE_TIMEOUT_S" --dump "$RUN/changes.txt" >>"$RES"
rec revoke_load "$(load1)"
rec keyadd_load "$(load1)"
log "revocations: $REVOCATIONS keys added, served, then disabled, polling until 401"
run_fg timeout $((REVOCATIONS * 2 * (CHANGE_TIMEOUT_S + 1) + 30)) python3 "$B/etcd_store.py" revoke --etcd "$ETCD_URL" \
  --prefix "$PREFIX" --gateway "http://127.0.0.1:$P_GW_ETCD" --n "$REVOCATIONS" --poll-ms "$POLL_MS" \
  --timeout-s "$CHANGE_TIMEOUT_S" --dump "$RUN/revocations.txt" >>"$RES"

# ---- 2. requests/s: the same content from a file ------------------------------------------------------------------
# the file store's policy is the etcd view itself, in policy-file form (models bench-fast, bench-1..N; every key)
log "writing the etcd view as a policy file (policy get) and starting the gateway on the file store on :$P_GW_FILE"
ETCD_ENDPOINTS="$ETCD_URL" run_fg timeout 60 java -jar "$JAR" policy get >"$RUN/policy.json" 2>"$RUN/policy-get.err"
rec file_policy_models "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["models"]))' "$RUN/policy.json")"
rec file_policy_keys "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["keys"]))' "$RUN/policy.json")"
# both gateways of the comparison start fresh, so that they share the same history (the one above has served 400
# different answers during the propagation phase, which shapes what its JIT compiles)
stop_bg "$PID_GW_ETCD"
start_gateway gateway-file "$P_GW_FILE" "$RUN/data-file" ROUTER_POLICY_FILE="$RUN/policy.json"
PID_GW_FILE=$LAST_PID
smoke file "$P_GW_FILE"
log "starting a fresh gateway on the etcd store on :$P_GW_ETCD"
start_gateway gateway-etcd-rps "$P_GW_ETCD" "$RUN/data-etcd-rps" ETCD_ENDPOINTS="$ETCD_URL"
PID_GW_ETCD=$LAST_PID
smoke etcd-rps "$P_GW_ETCD"

# run_wrk LABEL PORT ARGS [PID]: records LABEL's rps/latency/errors and the PID's CPU time per request
run_wrk() {
  local label=$1 port=$2 args=$3 pid=${4:-} out line c0=0 c1=0 kv requests=0
  out=$RUN/wrk-$label.txt
  [ -n "$pid" ] && c0=$(cpu_ticks "$pid")
  rec "wrk_${label}_load" "$(load1)"
  # shellcheck disable=SC2086
  BENCH_MODEL=bench-fast BENCH_KEY=$KEY BENCH_EXTRA_HEADER= \
    run_fg timeout 120 wrk $args --timeout 5s -s "$B/wrk-post.lua" "http://127.0.0.1:$port/v1/chat/completions" >"$out" 2>&1 || true
  [ -n "$pid" ] && c1=$(cpu_ticks "$pid")
  line=$(grep '^RESULT ' "$out" | tail -1 || true)
  if [ -z "$line" ]; then
    echo "etcd-store.sh: wrk against $label gave no result (see $out)" >&2
    return 0
  fi
  for kv in ${line#RESULT }; do
    rec "wrk_${label}_${kv%%=*}" "${kv#*=}"
    [ "${kv%%=*}" = requests ] && requests=${kv#*=}
  done
  if [ -n "$pid" ] && [ "$requests" -gt 0 ]; then
    rec "wrk_${label}_cpu_us_per_req" $(((c1 - c0) * 1000000 / CLK_TCK / requests))
  fi
}

wa=$(echo "$WRK_ARGS" | sed -E "s/-d ?[0-9]+[smh]?/-d$WRK_WARMUP/")
log "rps: warm-up of each gateway ($wa)"
run_wrk warm_file "$P_GW_FILE" "$wa"
run_wrk warm_etcd "$P_GW_ETCD" "$wa"
# the order alternates per round (file etcd | etcd file | ...) so that a drift of the machine's load hits both alike
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then
    log "rps: round $r/$ROUNDS, wrk $WRK_ARGS -> file store, then etcd store"
    run_wrk "file$r" "$P_GW_FILE" "$WRK_ARGS" "$PID_GW_FILE"
    run_wrk "etcd$r" "$P_GW_ETCD" "$WRK_ARGS" "$PID_GW_ETCD"
  else
    log "rps: round $r/$ROUNDS, wrk $WRK_ARGS -> etcd store, then file store"
    run_wrk "etcd$r" "$P_GW_ETCD" "$WRK_ARGS" "$PID_GW_ETCD"
    run_wrk "file$r" "$P_GW_FILE" "$WRK_ARGS" "$PID_GW_FILE"
  fi
done

# etcd must have stayed off the request path: the etcd gateway's readiness and store status, for the record
curl -s --max-time 2 "http://127.0.0.1:$P_GW_ETCD/v1/status/readyz" >"$RUN/readyz-etcd.json" || true

rec load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$B/etcd_store.py" report "$RES" | tee "$RUN/table.md"
echo
echo "details: $RUN"
