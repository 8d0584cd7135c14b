#!/usr/bin/env bash
# Benchmark of api-router (issue 2): prints one table of figures, targets and PASS/FAIL.
#
#   bench/run.sh                      all phases (about 4-5 minutes)
#   bench/run.sh rps sse              only some phases: startup | rps | sse | streams
#
# Everything runs on 127.0.0.1, on ports BENCH_PORT_BASE+1..+8 (default 19001-19008). Logs, generated configs and
# raw outputs go to bench/out/run-<timestamp>/ (bench/out/latest points at the last run). Every process started
# here is stopped by PID on exit, failures included. See bench/README.md for what each figure means.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/bench

# ---- settings (environment overrides) -------------------------------------------------------------------------
PORT_BASE=${BENCH_PORT_BASE:-19000}
WRK_ARGS=${BENCH_WRK_ARGS:--t2 -c32 -d15s}        # the same for direct, nginx and the gateway
WRK_WARMUP=${BENCH_WRK_WARMUP:-3s}                # warm-up of direct and nginx, same -t/-c, not recorded
WRK_WARMUP_GATEWAY=${BENCH_WRK_WARMUP_GATEWAY:-30s}  # the JVM's JIT needs longer (C2 still compiles after 15 s)
SIM_WRK_DURATION=${BENCH_SIM_WRK_DURATION:-8s}    # informative run against the vLLM simulator
SSE_CHUNKS=${BENCH_SSE_CHUNKS:-200}
SSE_INTERVAL_US=${BENCH_SSE_INTERVAL_US:-10000}
SSE_STREAMS=${BENCH_SSE_STREAMS:-5}               # measured streams per path (plus two warm-up rounds)
STREAMS=${BENCH_STREAMS:-2000}
OVER_STREAMS=${BENCH_OVER_STREAMS:-5000}
OVER_LIMIT=${BENCH_OVER_LIMIT:-2500}              # ROUTER_MAX_CONCURRENT_REQUESTS of the overload run
STREAM_TOKENS=${BENCH_STREAM_TOKENS:-20}
TOKEN_DELAY_MS=${BENCH_TOKEN_DELAY_MS:-1000}
STREAM_RATE=${BENCH_STREAM_RATE:-250}             # new streams per second (ramp of the 2,000)
BURST_RATE=${BENCH_BURST_RATE:-0}                 # >0: informative second run of the 2,000 at this rate
CONTROL=${BENCH_CONTROL:-1}                       # 1: the same 2,000 streams direct to the simulator, for comparison
WARM_STREAMS=${BENCH_WARM_STREAMS:-2000}          # short streams through each fresh gateway before measuring
OVER_RATE=${BENCH_OVER_RATE:-250}                 # ramp of the overload run
OVER_TOKENS=${BENCH_OVER_TOKENS:-30}              # its streams outlast its ramp, so the limit is really reached
STARTS=${BENCH_STARTS:-5}

P_BACKEND=$((PORT_BASE + 1))    # nginx serving a static chat completion (the fast backend)
P_NGINX=$((PORT_BASE + 2))      # nginx reverse proxy in front of it
P_GW=$((PORT_BASE + 3))         # gateway for rps and sse
P_SSE=$((PORT_BASE + 4))        # SSE backend stamping each event
P_SIM=$((PORT_BASE + 5))        # vLLM simulator (slow tokens, for the concurrent streams)
P_GW_STREAMS=$((PORT_BASE + 6)) # gateway for the 2,000 streams
P_GW_OVER=$((PORT_BASE + 7))    # gateway with a lowered in-flight limit
P_GW_START=$((PORT_BASE + 8))   # gateway start-up timing

KEY=sk-apirouter-bench
JAR=$ROOT/target/api-router.jar

PHASES=("$@")
[ ${#PHASES[@]} -eq 0 ] && PHASES=(startup rps sse streams)
for p in "${PHASES[@]}"; do
  case $p in startup|rps|sse|streams) ;; *) echo "run.sh: unknown phase '$p' (startup|rps|sse|streams)" >&2; exit 2;; esac
done
want() { local p; for p in "${PHASES[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }

# ---- prerequisites ---------------------------------------------------------------------------------------------
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: missing ${missing[*]}; install with:" >&2
  echo "  apt-get install -y wrk nginx" >&2
  exit 2
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
for tool in java javac python3 curl sha256sum timeout; do
  command -v "$tool" >/dev/null 2>&1 || { echo "run.sh: $tool is needed" >&2; exit 2; }
done

if [ ! -f "$JAR" ] || [ -n "$(find src routes pom.xml -newer "$JAR" -print -quit)" ]; then
  echo "run.sh: building $JAR ..."
  mvn -B -q -o package -DskipTests || mvn -B -q package -DskipTests
fi

# file descriptors: the overload run holds OVER_STREAMS client connections plus upstream ones in one process
need_fds=$((OVER_STREAMS * 2 + 1024))
ME=run.sh
# shellcheck source=bench/lib.sh
source "$B/lib.sh"
raise_fds "$need_fds"

new_run run latest

# ---- process control, port and HTTP checks: bench/lib.sh ------------------------------------------------------

# thread_dump PID FILE / thread_cpu BEFORE AFTER PREFIX: per-thread CPU of the gateway over an interval
thread_dump() { command -v jcmd >/dev/null 2>&1 && timeout 20 jcmd "$1" Thread.print >"$2" 2>&1 || true; }
thread_cpu() {
  [ -s "$1" ] && [ -s "$2" ] && python3 "$B/threadcpu.py" "$1" "$2" "$3" >>"$RES" 2>/dev/null || true
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

for p in $P_BACKEND $P_NGINX $P_GW $P_SSE $P_SIM $P_GW_STREAMS $P_GW_OVER $P_GW_START; do
  if port_in_use "$p"; then
    echo "run.sh: port $p is in use; set BENCH_PORT_BASE to another base" >&2
    exit 2
  fi
done

# ---- machine and versions ---------------------------------------------------------------------------------------
rec_machine
rec nginx "$($NGINX -v 2>&1 | sed 's/^nginx version: //')"
rec wrk "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
rec commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src routes pom.xml 2>/dev/null || echo '+dirty')"
rec wrk_args "$WRK_ARGS"
rec streams_target "$STREAMS"
rec over_streams "$OVER_STREAMS"
rec over_limit "$OVER_LIMIT"
rec stream_tokens "$STREAM_TOKENS"
rec token_delay_ms "$TOKEN_DELAY_MS"
rec sse_interval_us "$SSE_INTERVAL_US"
rec starts "$STARTS"
rec phases "${PHASES[*]}"

# ---- generated files --------------------------------------------------------------------------------------------
mkdir -p "$RUN/classes"
javac -d "$RUN/classes" "$B/src/BenchTools.java"
TOOLS=(java -Xss256k -cp "$RUN/classes" BenchTools)

HASH=$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)
cat >"$RUN/policy.yaml" <<EOF
# generated by bench/run.sh
models:
  bench-fast:
    backends:
      - { url: "http://127.0.0.1:$P_BACKEND" }
  bench-sse:
    backends:
      - { url: "http://127.0.0.1:$P_SSE" }
  bench-sim:
    backends:
      - { url: "http://127.0.0.1:$P_SIM" }
    timeouts: { connectMs: 1000, firstByteMs: 60000, idleMs: 30000 }
keys:
  "$HASH": { name: bench, models: ["*"] }
EOF

# the static answer of the fast backend: a small non-stream chat completion
COMPLETION='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-fast","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, nice to meet you."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":16,"completion_tokens":8,"total_tokens":24}}'

nginx_conf() { # nginx_conf DIR WORKERS SERVER_BLOCK [HTTP_EXTRA]
  local dir=$1
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
# generated by bench/run.sh
worker_processes $2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  ${4:-}
  $3
}
EOF
}

# ---- components (started once, on demand) -----------------------------------------------------------------------
PID_BACKEND= PID_NGINX= PID_GW= PID_SSE= PID_SIM=

# management port 0 (a free one): gateways run side by side, and nothing here reads it
start_gateway() { # start_gateway NAME PORT [ENV=VALUE...]  -> LAST_PID, waits for readiness
  local name=$1 port=$2
  shift 2
  start_bg "$name" env ROUTER_HTTP_PORT="$port" ROUTER_HTTP_HOST=127.0.0.1 ROUTER_POLICY_FILE="$RUN/policy.yaml" \
    ROUTER_MANAGEMENT_PORT=0 ROUTER_MANAGEMENT_HOST=127.0.0.1 ROUTER_SHUTDOWN_GRACE_MS=2000 ROUTER_DATA_DIR="$RUN/data" "$@" java -jar "$JAR"
  local pid=$LAST_PID
  wait_http "http://127.0.0.1:$port/v1/status/readyz" 200 90 "$pid"
  LAST_PID=$pid
}

ensure_backend() {
  [ -n "$PID_BACKEND" ] && return 0
  nginx_conf "$RUN/nginx-backend" 1 "server {
    listen 127.0.0.1:$P_BACKEND backlog=4096;
    location / { default_type application/json; return 200 '$COMPLETION'; }
  }"
  start_bg nginx-backend "$NGINX" -e "$RUN/nginx-backend/error.log" -p "$RUN/nginx-backend" \
    -c "$RUN/nginx-backend/nginx.conf" -g 'daemon off;'
  PID_BACKEND=$LAST_PID
  wait_http "http://127.0.0.1:$P_BACKEND/" 200 20 "$PID_BACKEND"
}

ensure_nginx_proxy() {
  [ -n "$PID_NGINX" ] && return 0
  nginx_conf "$RUN/nginx-proxy" auto "server {
    listen 127.0.0.1:$P_NGINX backlog=4096;
    location / {
      proxy_pass http://bench_backend;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
    }
  }" "upstream bench_backend { server 127.0.0.1:$P_BACKEND; keepalive 64; }"
  start_bg nginx-proxy "$NGINX" -e "$RUN/nginx-proxy/error.log" -p "$RUN/nginx-proxy" \
    -c "$RUN/nginx-proxy/nginx.conf" -g 'daemon off;'
  PID_NGINX=$LAST_PID
  wait_http "http://127.0.0.1:$P_NGINX/" 200 20 "$PID_NGINX"
}

ensure_gateway() {
  [ -n "$PID_GW" ] && return 0
  log "starting the gateway on :$P_GW"
  start_gateway gateway "$P_GW"
  PID_GW=$LAST_PID
}

ensure_sse_backend() {
  [ -n "$PID_SSE" ] && return 0
  start_bg sse-backend "${TOOLS[@]}" sse-backend --port "$P_SSE" --chunks "$SSE_CHUNKS" --interval-us "$SSE_INTERVAL_US"
  PID_SSE=$LAST_PID
  local i
  for ((i = 0; i < 200; i++)); do port_in_use "$P_SSE" && return 0; sleep 0.1; done
  echo "run.sh: the SSE backend did not listen" >&2
  return 1
}

ensure_sim() {
  [ -n "$PID_SIM" ] && return 0
  log "starting the vLLM simulator on :$P_SIM (token delay ${TOKEN_DELAY_MS} ms, $STREAM_TOKENS tokens)"
  start_bg vllm-sim java -Xss512k tools/vllm-sim/dev/apirouter/sim/VllmSimulator.java --port "$P_SIM" \
    --served-model-name bench-sim --token-delay-ms "$TOKEN_DELAY_MS" --max-tokens "$STREAM_TOKENS"
  PID_SIM=$LAST_PID
  wait_http "http://127.0.0.1:$P_SIM/health" 200 90 "$PID_SIM"
}

stop_component() { # stop_component VAR
  local v=$1
  if [ -n "${!v}" ]; then
    stop_bg "${!v}"
    printf -v "$v" '%s' ""
  fi
}

# one request through a target, kept for the record; fails the run when the answer is not a completion
smoke() { # smoke LABEL PORT MODEL
  local out=$RUN/smoke-$1.txt code
  code=$(curl -s -o "$out" -w '%{http_code}' --max-time 10 "http://127.0.0.1:$2/v1/chat/completions" \
    -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "{\"model\":\"$3\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4}" || true)
  if [ "$code" != 200 ] || ! grep -q '"chat.completion"' "$out"; then
    echo "run.sh: smoke request to $1 (:$2) answered $code: $(head -c 300 "$out")" >&2
    return 1
  fi
}

CLK_TCK=$(getconf CLK_TCK)
# cpu_ticks PID...: user + system CPU time of the processes so far, in clock ticks
cpu_ticks() {
  local t=0 p v
  for p in "$@"; do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
# nginx_pids MASTER: the master and its workers
nginx_pids() { echo "$1 $(pgrep -P "$1" | tr '\n' ' ')"; }

# run_wrk LABEL PORT MODEL ARGS EXTRA_HEADER [PID...]: records rps/p50/p99/errors of LABEL, and the CPU time the
# given processes used per request during the run
run_wrk() {
  local label=$1 port=$2 model=$3 args=$4 extra=$5 out line c0 c1 kv requests=0
  shift 5
  out=$RUN/wrk-$label.txt
  c0=$(cpu_ticks "$@")
  # shellcheck disable=SC2086
  BENCH_MODEL=$model BENCH_KEY=$KEY BENCH_EXTRA_HEADER=$extra \
    run_fg timeout 300 wrk $args --timeout 5s -s "$B/wrk-post.lua" "http://127.0.0.1:$port/v1/chat/completions" >"$out" 2>&1 || true
  c1=$(cpu_ticks "$@")
  line=$(grep '^RESULT ' "$out" | tail -1 || true)
  if [ -z "$line" ]; then
    echo "run.sh: wrk against $label gave no result (see $out)" >&2
    return 0
  fi
  for kv in ${line#RESULT }; do
    rec "wrk_${label}_${kv%%=*}" "${kv#*=}"
    [ "${kv%%=*}" = requests ] && requests=${kv#*=}
  done
  if [ $# -gt 0 ] && [ "$requests" -gt 0 ]; then
    rec "wrk_${label}_cpu_us_per_req" $(((c1 - c0) * 1000000 / CLK_TCK / requests))
  fi
}

# sample_loop OUT PID SECONDS: every 200 ms "epoch rss_kb threads sim_active" (bounded by SECONDS)
sample_loop() {
  local out=$1 pid=$2 secs=$3 i rss thr act
  for ((i = 0; i < secs * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    thr=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    act=$(curl -s --max-time 0.5 "http://127.0.0.1:$P_SIM/metrics" 2>/dev/null | awk '/^vllm_sim_streams_active / {print int($2)}' || true)
    echo "$(date +%s.%N) ${rss:-0} ${thr:-0} ${act:-0}" >>"$out"
    sleep 0.2
  done
}

# why_502 LOG KEY: records the reasons the gateway logged for its 502s ("N x reason; ...")
why_502() {
  rec "$2" "$(grep -h 'no backend answered' "$1" 2>/dev/null | sed -E 's/.*no backend answered: [^ ]+: //; s/[0-9]+ ms/N ms/' |
    sort | uniq -c | sort -rn | awk '{n = $1; $1 = ""; printf "%s%d x%s", (NR > 1 ? "; " : ""), n, $0}')"
}

# streams_warmup PORT LABEL: 2,000 short streams (5 tokens, 5 ms apart) on the fresh gateway, so the measured run
# meets a warm JIT (500 were not enough); recorded as LABEL_* since a cold gateway is worth seeing too
streams_warmup() {
  rec "${2}_load" "$(load1)"
  run_fg timeout 120 "${TOOLS[@]}" streams --port "$1" --n "$WARM_STREAMS" --key "$KEY" --model bench-sim --max-tokens 5 \
    --rate "$STREAM_RATE" --header "x-sim-token-delay-ms: 5" --deadline-s 60 --prefix "$2" \
    >"$RUN/$2.txt" 2>"$RUN/$2.err" || true
  cat "$RUN/$2.txt" >>"$RES"
  rec "${2}_status_502" "$(awk '/ x status 502$/ {n += $2} END {print n + 0}' "$RUN/$2.err")"
}

# streams_run LABEL GW_PID GW_PORT N RATE TOKENS: N concurrent streams through the gateway, RSS sampled all along
streams_run() {
  local label=$1 gw=$2 port=$3 n=$4 rate=$5 tokens=$6 deadline samples sampler
  deadline=$((n / rate + tokens * TOKEN_DELAY_MS / 1000 + 40))
  samples=$RUN/samples-$label.txt
  : >"$samples"
  rec "${label}_load" "$(load1)"
  rec "${label}_rate" "$rate"
  rec "${label}_tokens" "$tokens"
  rec "${label}_rss_before_kb" "$(rss_kb "$gw")"
  sample_loop "$samples" "$gw" $((deadline + 10)) &
  sampler=$!
  PIDS+=("$sampler")
  thread_dump "$gw" "$RUN/threads-$label-0.txt"
  log "$label: $n streams through :$port, $rate new/s, $tokens tokens x ${TOKEN_DELAY_MS} ms"
  run_fg timeout $((deadline + 30)) "${TOOLS[@]}" streams --port "$port" --n "$n" --key "$KEY" --model bench-sim \
    --max-tokens "$tokens" --rate "$rate" --deadline-s "$deadline" --prefix "$label" --dump "$RUN/streams-$label.txt" \
    >"$RUN/$label.txt" 2>"$RUN/$label.err" || true
  thread_dump "$gw" "$RUN/threads-$label-1.txt"
  thread_cpu "$RUN/threads-$label-0.txt" "$RUN/threads-$label-1.txt" "$label"
  cat "$RUN/$label.txt" >>"$RES"
  [ -s "$RUN/$label.err" ] && sed 's/^/  /' "$RUN/$label.err" >&2
  stop_bg "$sampler"
  rec "${label}_rss_hwm_kb" "$(hwm_kb "$gw")"
  rec "${label}_rss_sampled_max_kb" "$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$samples")"
  rec "${label}_threads_max" "$(awk 'BEGIN {m = 0} $3 > m {m = $3} END {print m}' "$samples")"
  rec "${label}_sim_active_max" "$(awk 'BEGIN {m = 0} $4 > m {m = $4} END {print m}' "$samples")"
  rec "${label}_status_502" "$(awk '/ x status 502$/ {n += $2} END {print n + 0}' "$RUN/$label.err")"
  if kill -0 "$gw" 2>/dev/null && [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
      "http://127.0.0.1:$port/v1/status/healthz" || true)" = 200 ]; then
    rec "${label}_gateway_alive_after" yes
  else
    rec "${label}_gateway_alive_after" no
  fi
}

# ---- phase 4 (run first, while nothing else of ours is busy): start-up time -------------------------------------
if want startup; then
  rec startup_load "$(load1)"
  log "startup: $STARTS fresh starts, time from java -jar to healthz 200 (poll every 10 ms)"
  ROUTER_POLICY_FILE="$RUN/policy.yaml" ROUTER_DATA_DIR="$RUN/data" ROUTER_SHUTDOWN_GRACE_MS=2000 \
    run_fg python3 "$B/startup.py" "$JAR" "$P_GW_START" "$STARTS" "$RUN" >"$RUN/startup.txt" 2>"$RUN/startup.err" || true
  cat "$RUN/startup.txt" >>"$RES"
  [ -s "$RUN/startup.err" ] && cat "$RUN/startup.err" >&2
fi

# ---- phase 1: requests/s, direct vs nginx vs gateway ---------------------------------------------------------------
if want rps; then
  rec rps_load "$(load1)"
  ensure_backend
  ensure_nginx_proxy
  ensure_gateway
  ensure_sim
  smoke direct "$P_BACKEND" bench-fast
  smoke nginx "$P_NGINX" bench-fast
  smoke gateway "$P_GW" bench-fast
  wa=$(echo "$WRK_ARGS" | sed -E "s/-d ?[0-9]+[smh]?/-d$WRK_WARMUP/")
  wg=$(echo "$WRK_ARGS" | sed -E "s/-d ?[0-9]+[smh]?/-d$WRK_WARMUP_GATEWAY/")
  log "rps: warm-up of each target ($wa; gateway $wg)"
  run_wrk warm_direct "$P_BACKEND" bench-fast "$wa" ""
  run_wrk warm_nginx "$P_NGINX" bench-fast "$wa" ""
  run_wrk warm_gateway "$P_GW" bench-fast "$wg" ""
  log "rps: wrk $WRK_ARGS -> direct"
  # shellcheck disable=SC2046
  run_wrk direct "$P_BACKEND" bench-fast "$WRK_ARGS" "" $(nginx_pids "$PID_BACKEND")
  log "rps: wrk $WRK_ARGS -> nginx"
  # shellcheck disable=SC2046
  run_wrk nginx "$P_NGINX" bench-fast "$WRK_ARGS" "" $(nginx_pids "$PID_NGINX")
  log "rps: wrk $WRK_ARGS -> gateway"
  thread_dump "$PID_GW" "$RUN/threads-wrk-0.txt"
  run_wrk gateway "$P_GW" bench-fast "$WRK_ARGS" "" "$PID_GW"
  thread_dump "$PID_GW" "$RUN/threads-wrk-1.txt"
  thread_cpu "$RUN/threads-wrk-0.txt" "$RUN/threads-wrk-1.txt" wrk_gateway
  rec gateway_rss_after_wrk_kb "$(rss_kb "$PID_GW")"
  sa=$(echo "$WRK_ARGS" | sed -E "s/-d ?[0-9]+[smh]?/-d$SIM_WRK_DURATION/")
  log "rps: wrk $sa -> vLLM simulator directly, 0 ms per token (is it fast enough to be the backend?)"
  run_wrk sim "$P_SIM" bench-sim "$sa" "x-sim-token-delay-ms: 0" "$PID_SIM"
fi

# ---- phase 2: added delay per SSE event -----------------------------------------------------------------------------
if want sse; then
  ensure_sse_backend
  ensure_gateway
  rec sse_load "$(load1)"
  log "sse: $SSE_CHUNKS events every ${SSE_INTERVAL_US} us, $SSE_STREAMS rounds of one stream direct + one via the gateway"
  run_fg timeout 300 "${TOOLS[@]}" sse-delay --direct-port "$P_SSE" --gateway-port "$P_GW" --key "$KEY" --model bench-sse \
    --streams "$SSE_STREAMS" --warmup 2 --chunks "$SSE_CHUNKS" --interval-us "$SSE_INTERVAL_US" \
    --dump "$RUN/sse-events.txt" >"$RUN/sse.txt" 2>"$RUN/sse.err" || true
  cat "$RUN/sse.txt" >>"$RES"
  [ -s "$RUN/sse.err" ] && cat "$RUN/sse.err" >&2
fi

stop_component PID_GW
stop_component PID_NGINX
stop_component PID_BACKEND
stop_component PID_SSE

# ---- phase 3: concurrent streams, RSS, shedding ---------------------------------------------------------------------
if want streams; then
  ensure_sim
  log "streams: starting a fresh gateway on :$P_GW_STREAMS (default in-flight limit), warming it up"
  start_gateway gateway-streams "$P_GW_STREAMS"
  gw=$LAST_PID
  streams_warmup "$P_GW_STREAMS" warm_s
  streams_run s "$gw" "$P_GW_STREAMS" "$STREAMS" "$STREAM_RATE" "$STREAM_TOKENS"
  if [ "$CONTROL" = 1 ]; then
    log "ctl: the same $STREAMS streams direct to the simulator (control)"
    rec ctl_load "$(load1)"
    run_fg timeout $((STREAMS / STREAM_RATE + STREAM_TOKENS * TOKEN_DELAY_MS / 1000 + 70)) "${TOOLS[@]}" streams \
      --port "$P_SIM" --n "$STREAMS" --key "$KEY" --model bench-sim --max-tokens "$STREAM_TOKENS" --rate "$STREAM_RATE" \
      --deadline-s $((STREAMS / STREAM_RATE + STREAM_TOKENS * TOKEN_DELAY_MS / 1000 + 40)) --prefix ctl \
      --dump "$RUN/streams-ctl.txt" \
      >"$RUN/ctl.txt" 2>"$RUN/ctl.err" || true
    cat "$RUN/ctl.txt" >>"$RES"
    rec ctl_status_502 "$(awk '/ x status 502$/ {n += $2} END {print n + 0}' "$RUN/ctl.err")"
  fi
  if [ "$BURST_RATE" -gt 0 ]; then
    streams_run burst "$gw" "$P_GW_STREAMS" "$STREAMS" "$BURST_RATE" "$STREAM_TOKENS"
  fi
  stop_bg "$gw"
  why_502 "$RUN/gateway-streams.log" streams_gateway_502_reasons

  log "streams: starting a fresh gateway on :$P_GW_OVER with ROUTER_MAX_CONCURRENT_REQUESTS=$OVER_LIMIT, warming it up"
  start_gateway gateway-over "$P_GW_OVER" ROUTER_MAX_CONCURRENT_REQUESTS="$OVER_LIMIT"
  gw=$LAST_PID
  streams_warmup "$P_GW_OVER" warm_over
  streams_run over "$gw" "$P_GW_OVER" "$OVER_STREAMS" "$OVER_RATE" "$OVER_TOKENS"
  stop_bg "$gw"
  why_502 "$RUN/gateway-over.log" over_gateway_502_reasons
fi
stop_component PID_SIM

rec load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$B/report.py" "$RES" | tee "$RUN/table.md"
echo
echo "details: $RUN"
