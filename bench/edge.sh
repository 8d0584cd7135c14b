#!/usr/bin/env bash
# Edge-attack benchmark of api-router: hostile clients at scale against a real gateway, one table of figures, targets
# and PASS/FAIL.
#
#   bench/edge.sh                              all phases (about 4-6 minutes)
#   bench/edge.sh upload-noauth slowloris      only some phases: upload-noauth | upload-auth | idle | slowloris
#   python3 bench/edge_report.py bench/out/edge-latest/results.txt     print the table of the last run again
#
# Each phase gets a fresh gateway (java -Xmx460m -XX:+ExitOnOutOfMemoryError -jar target/api-router.jar, an explicit
# policy file: model m -> one vLLM simulator, one key) and runs the attack clients of bench/edge_attacks.py against
# it, with a "victim" client measuring ordinary requests meanwhile where the phase has one. A gateway that dies or
# never closes a connection is a figure, not a failure of the script: every phase is bounded in time.
# Everything runs on 127.0.0.1, on ports BENCH_PORT_BASE+1..+5 (default 19301-19305). Logs, the generated policy and
# raw outputs go to bench/out/edge-<timestamp>/ (bench/out/edge-latest points at the last run). Every process
# started here is tracked by PID and stopped on exit, on failure and on Ctrl-C. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/bench

# ---- settings (environment overrides) -------------------------------------------------------------------------
PORT_BASE=${BENCH_PORT_BASE:-19300}
JAVA_OPTS=${BENCH_EDGE_JAVA_OPTS:--Xmx460m -XX:+ExitOnOutOfMemoryError}   # the gateway's JVM flags
MAX_BODY_BYTES=${BENCH_EDGE_MAX_BODY_BYTES:-16777216}   # ROUTER_MAX_BODY_BYTES of every gateway
GATEWAY_ENV=${BENCH_EDGE_GATEWAY_ENV:-}                 # extra "VAR=VALUE ..." for every gateway (e.g. ROUTER_MAX_CONNECTIONS=...)
UPLOAD_CONNS=${BENCH_EDGE_UPLOAD_CONNS:-40}             # concurrent uploading connections
UPLOAD_BYTES=${BENCH_EDGE_UPLOAD_BYTES:-15728640}       # Content-Length of each upload (15 MiB)
UPLOAD_REPEAT=${BENCH_EDGE_UPLOAD_REPEAT:-3}            # uploads per connection, one after the other
UPLOAD_SECS=${BENCH_EDGE_UPLOAD_SECS:-40}               # cap of an upload attack
VICTIM_INTERVAL_MS=${BENCH_EDGE_VICTIM_INTERVAL_MS:-20} # one victim request every ... ms (open loop)
VICTIM_TIMEOUT_S=${BENCH_EDGE_VICTIM_TIMEOUT_S:-5}      # a victim request slower than this is an error
WARMUP_SECS=${BENCH_EDGE_WARMUP_SECS:-5}                # the victim alone on the fresh gateway first, not shown (JIT)
BASELINE_SECS=${BENCH_EDGE_BASELINE_SECS:-5}            # then the victim alone, shown as the baseline (0: none)
IDLE_CONNS=${BENCH_EDGE_IDLE_CONNS:-5000}               # half send nothing, half one request then stay idle
IDLE_RATE=${BENCH_EDGE_IDLE_RATE:-500}                  # new idle connections per second
IDLE_REQUEST=${BENCH_EDGE_IDLE_REQUEST:-models}         # the keep-alive half's one request: models (GET /v1/models) | chat
SLOW_HEAD_CONNS=${BENCH_EDGE_SLOW_HEAD_CONNS:-300}      # slowloris: a head byte every interval, never complete
SLOW_BODY_CONNS=${BENCH_EDGE_SLOW_BODY_CONNS:-300}      # slowloris: complete head, Content-Length 100000, a body byte every body timeout + 1 s
SLOW_RATE=${BENCH_EDGE_SLOW_RATE:-200}                  # new slow connections per second
SLOW_INTERVAL_S=${BENCH_EDGE_SLOW_INTERVAL_S:-1}
HEADER_TIMEOUT_MS=${BENCH_EDGE_HEADER_TIMEOUT_MS:-5000} # -> ROUTER_CLIENT_HEADER_TIMEOUT_MS (idle, slowloris)
IDLE_TIMEOUT_MS=${BENCH_EDGE_IDLE_TIMEOUT_MS:-5000}     # -> ROUTER_CLIENT_IDLE_TIMEOUT_MS (idle)
BODY_TIMEOUT_MS=${BENCH_EDGE_BODY_TIMEOUT_MS:-5000}     # -> ROUTER_CLIENT_BODY_TIMEOUT_MS (slowloris)
GRACE_S=${BENCH_EDGE_GRACE_S:-10}                       # a connection still open at its timeout + this is "not closed"

P_SIM=$((PORT_BASE + 1))      # vLLM simulator, model m
P_NOAUTH=$((PORT_BASE + 2))   # gateway of upload-noauth
P_AUTH=$((PORT_BASE + 3))     # gateway of upload-auth
P_IDLE=$((PORT_BASE + 4))     # gateway of idle
P_SLOW=$((PORT_BASE + 5))     # gateway of slowloris

KEY=sk-apirouter-edge-bench
MODEL=m
JAR=$ROOT/target/api-router.jar
ALL_PHASES=(upload-noauth upload-auth idle slowloris)

PHASES=("$@")
[ ${#PHASES[@]} -eq 0 ] && PHASES=("${ALL_PHASES[@]}")
for p in "${PHASES[@]}"; do
  case $p in upload-noauth|upload-auth|idle|slowloris) ;;
    *) echo "edge.sh: unknown phase '$p' (${ALL_PHASES[*]})" >&2; exit 2;; esac
done
want() { local p; for p in "${PHASES[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }

# ---- prerequisites ---------------------------------------------------------------------------------------------
for tool in java python3 curl sha256sum timeout mvn; do
  command -v "$tool" >/dev/null 2>&1 || { echo "edge.sh: $tool is needed" >&2; exit 2; }
done
if [ ! -f "$JAR" ] || [ -n "$(find src routes pom.xml -newer "$JAR" -print -quit)" ]; then
  echo "edge.sh: building $JAR ..."
  mvn -B -q -o package -DskipTests
fi

# file descriptors: the idle phase holds IDLE_CONNS connections in the client and as many in the gateway
need_fds=$((IDLE_CONNS + SLOW_HEAD_CONNS + SLOW_BODY_CONNS + 2048))
ME=edge.sh
# shellcheck source=bench/lib.sh
source "$B/lib.sh"
raise_fds "$need_fds"

new_run edge edge-latest

# ---- process control, port and HTTP checks: bench/lib.sh ------------------------------------------------------

for p in $P_SIM $P_NOAUTH $P_AUTH $P_IDLE $P_SLOW; do
  if port_in_use "$p"; then
    echo "edge.sh: port $p is in use; set BENCH_PORT_BASE to another base" >&2
    exit 2
  fi
done

# ---- machine, versions, settings --------------------------------------------------------------------------------
rec_machine
rec commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src routes pom.xml 2>/dev/null || echo '+dirty')"
rec jar_built "$(date -u -r "$JAR" +%Y-%m-%dT%H:%M:%SZ)"
rec java_opts "$JAVA_OPTS"
rec gateway_env "$GATEWAY_ENV"
rec max_body_bytes "$MAX_BODY_BYTES"
rec upload_conns "$UPLOAD_CONNS"
rec upload_bytes "$UPLOAD_BYTES"
rec upload_repeat "$UPLOAD_REPEAT"
rec upload_secs "$UPLOAD_SECS"
rec victim_interval_ms "$VICTIM_INTERVAL_MS"
rec victim_timeout_s "$VICTIM_TIMEOUT_S"
rec warmup_secs "$WARMUP_SECS"
rec baseline_secs "$BASELINE_SECS"
rec idle_conns_target "$IDLE_CONNS"
rec idle_rate "$IDLE_RATE"
rec idle_request "$IDLE_REQUEST"
rec slow_head_conns "$SLOW_HEAD_CONNS"
rec slow_body_conns "$SLOW_BODY_CONNS"
rec slow_interval_s "$SLOW_INTERVAL_S"
rec header_timeout_ms "$HEADER_TIMEOUT_MS"
rec idle_timeout_ms "$IDLE_TIMEOUT_MS"
rec body_timeout_ms "$BODY_TIMEOUT_MS"
rec grace_s "$GRACE_S"
rec nofile "$(ulimit -n)"
rec phases "${PHASES[*]}"

HASH=$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)
cat >"$RUN/policy.yaml" <<EOF
# generated by bench/edge.sh
models:
  $MODEL:
    backends:
      - { url: "http://127.0.0.1:$P_SIM" }
keys:
  "$HASH": { name: edge-bench, models: ["*"] }
EOF

ATTACKS=(python3 "$B/edge_attacks.py")

# ---- components ---------------------------------------------------------------------------------------------------
start_sim() {
  log "starting the vLLM simulator on :$P_SIM (model $MODEL, 1 ms per token)"
  start_bg vllm-sim java -Xss512k tools/vllm-sim/dev/apirouter/sim/VllmSimulator.java --port "$P_SIM" \
    --served-model-name "$MODEL" --token-delay-ms 1 --max-tokens 4
  PID_SIM=$LAST_PID
  wait_http "http://127.0.0.1:$P_SIM/health" 200 90 "$PID_SIM"
}

# start_gateway NAME PORT [ENV=VALUE...] -> LAST_PID, waits for readiness
start_gateway() {
  local name=$1 port=$2
  shift 2
  # shellcheck disable=SC2086
  start_bg "$name" env ROUTER_HTTP_PORT="$port" ROUTER_HTTP_HOST=127.0.0.1 ROUTER_POLICY_FILE="$RUN/policy.yaml" \
    ROUTER_SHUTDOWN_GRACE_MS=2000 ROUTER_DATA_DIR="$RUN/data" ROUTER_MAX_BODY_BYTES="$MAX_BODY_BYTES" \
    $GATEWAY_ENV "$@" java $JAVA_OPTS -jar "$JAR"
  local pid=$LAST_PID
  wait_http "http://127.0.0.1:$port/v1/status/readyz" 200 90 "$pid"
  LAST_PID=$pid
}

# one request through the gateway before the attack: the victim must have something to lose
smoke() { # smoke PORT LABEL
  local out=$RUN/smoke-$2.txt code
  code=$(curl -s -o "$out" -w '%{http_code}' --max-time 10 "http://127.0.0.1:$1/v1/chat/completions" \
    -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}" || true)
  if [ "$code" != 200 ] || ! grep -q '"chat.completion"' "$out"; then
    echo "edge.sh: smoke request through the gateway (:$1) answered $code: $(head -c 300 "$out")" >&2
    return 1
  fi
}

# sample_loop PID OUT SECONDS: "epoch VmRSS VmHWM threads" (kB) every 200 ms while PID lives, bounded by SECONDS
sample_loop() {
  local pid=$1 out=$2 secs=$3 i line
  for ((i = 0; i < secs * 5; i++)); do
    line=$(awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} /^Threads:/ {t = $2} END {if (h) print r, h, t}' \
      "/proc/$pid/status" 2>/dev/null) || break
    [ -n "$line" ] || break
    echo "$(date +%s.%N) $line" >>"$out"
    sleep 0.2
  done
}

# alive PID PORT: the process exists and answers healthz 200 (tries for up to 5 s: a busy GC is not death)
alive() {
  local i
  for ((i = 0; i < 10; i++)); do
    kill -0 "$1" 2>/dev/null || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$2/v1/status/healthz" || true)" = 200 ] &&
      return 0
    sleep 0.5
  done
  return 1
}

# attack LABEL PORT SECONDS VICTIM_SECONDS ENV... -- ATTACK_ARGS...: a fresh gateway on PORT with ENV; when
# VICTIM_SECONDS > 0, the victim alone (warm-up, then baseline), then the victim again started 1 s before the attack;
# RSS sampled all along; records LABEL_* and stops the gateway
attack() {
  local label=$1 port=$2 secs=$3 vsecs=$4 gw sampler victim="" rc=0 envs=() attack_start
  shift 4
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  log "$label: starting a fresh gateway on :$port ${envs[*]+${envs[*]}}"
  start_gateway "gateway-$label" "$port" "${envs[@]+"${envs[@]}"}"
  gw=$LAST_PID
  smoke "$port" "$label"
  rec "${label}_gateway_env" "${envs[*]+${envs[*]}}"
  : >"$RUN/samples-$label.txt"
  sample_loop "$gw" "$RUN/samples-$label.txt" $((secs + vsecs + WARMUP_SECS + BASELINE_SECS + 60)) &
  sampler=$!
  PIDS+=("$sampler")
  if [ "$vsecs" -gt 0 ]; then
    # the same victim alone first: a warm-up of the fresh gateway's JIT (recorded, not shown), then the baseline,
    # what the machine and the gateway give without an attack
    local w s
    for w in warm:"$WARMUP_SECS" base:"$BASELINE_SECS"; do
      s=${w#*:}
      [ "$s" -gt 0 ] || continue
      run_fg timeout $((s + VICTIM_TIMEOUT_S + 30)) "${ATTACKS[@]}" victim --port "$port" --key "$KEY" \
        --model "$MODEL" --secs "$s" --interval-ms "$VICTIM_INTERVAL_MS" --timeout-s "$VICTIM_TIMEOUT_S" \
        --prefix "${label}_${w%%:*}" >"$RUN/$label-${w%%:*}.txt" 2>"$RUN/$label-${w%%:*}.err" || true
      cat "$RUN/$label-${w%%:*}.txt" >>"$RES"
    done
  fi
  rec "${label}_load" "$(load1)"
  rec "${label}_rss_before_kb" "$(awk '/^VmRSS:/ {print $2}' "/proc/$gw/status" 2>/dev/null || echo 0)"
  if [ "$vsecs" -gt 0 ]; then
    "${ATTACKS[@]}" victim --port "$port" --key "$KEY" --model "$MODEL" --secs "$vsecs" \
      --interval-ms "$VICTIM_INTERVAL_MS" --timeout-s "$VICTIM_TIMEOUT_S" --prefix "${label}_victim" \
      >"$RUN/$label-victim.txt" 2>"$RUN/$label-victim.err" &
    victim=$!
    PIDS+=("$victim")
    sleep 1
  fi
  log "$label: attack ($*), at most ${secs}s"
  attack_start=$(date +%s.%N)
  run_fg timeout $((secs + 30)) "${ATTACKS[@]}" "$@" --port "$port" --prefix "$label" \
    >"$RUN/$label.txt" 2>"$RUN/$label.err" || rc=$?
  [ "$rc" = 0 ] || log "$label: the attack client exited with $rc (see $RUN/$label.err)"
  if [ -n "$victim" ]; then
    # the victim is bounded by its own hard deadline (--secs + --timeout-s + 5 s)
    wait_bg "$victim" || log "$label: the victim client failed (see $RUN/$label-victim.err)"
    cat "$RUN/$label-victim.txt" >>"$RES"
  fi
  cat "$RUN/$label.txt" >>"$RES"
  if alive "$gw" "$port"; then
    rec "${label}_alive" yes
    rec "${label}_rss_hwm_kb" "$(awk '/^VmHWM:/ {print $2}' "/proc/$gw/status" 2>/dev/null || echo 0)"
  else
    rec "${label}_alive" no
    if kill -0 "$gw" 2>/dev/null; then
      rec "${label}_exit_code" "none (running, no healthz answer)"
    else
      rc=0
      wait "$gw" 2>/dev/null || rc=$?
      forget_pid "$gw"
      gw=""
      rec "${label}_exit_code" "$rc"
    fi
    # the last sample before it died
    rec "${label}_rss_hwm_kb" "$(awk 'BEGIN {m = 0} $3 > m {m = $3} END {print m}' "$RUN/samples-$label.txt")"
    rec "${label}_died_after_s" "$(awk -v t0="$attack_start" 'END {printf "%.1f", $1 - t0}' "$RUN/samples-$label.txt")"
  fi
  rec "${label}_oom" "$(grep -c 'OutOfMemoryError' "$RUN/gateway-$label.log" || true)"
  rec "${label}_rss_sampled_max_kb" "$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$RUN/samples-$label.txt")"
  rec "${label}_threads_max" "$(awk 'BEGIN {m = 0} $4 > m {m = $4} END {print m}' "$RUN/samples-$label.txt")"
  stop_bg "$sampler"
  [ -z "$gw" ] || stop_bg "$gw"
}

start_sim

# ---- 1, 2: 15 MiB uploads, without and with a key -----------------------------------------------------------------
if want upload-noauth; then
  attack noauth "$P_NOAUTH" "$UPLOAD_SECS" $((UPLOAD_SECS + 5)) -- upload --model "$MODEL" \
    --conns "$UPLOAD_CONNS" --bytes "$UPLOAD_BYTES" --repeat "$UPLOAD_REPEAT" --secs "$UPLOAD_SECS"
fi
if want upload-auth; then
  attack auth "$P_AUTH" "$UPLOAD_SECS" $((UPLOAD_SECS + 5)) -- upload --model "$MODEL" --key "$KEY" \
    --conns "$UPLOAD_CONNS" --bytes "$UPLOAD_BYTES" --repeat "$UPLOAD_REPEAT" --secs "$UPLOAD_SECS"
fi

# ---- 3: idle connections ------------------------------------------------------------------------------------------
max_ms() { local m=0 v; for v in "$@"; do [ "$v" -gt "$m" ] && m=$v; done; echo "$m"; }
if want idle; then
  secs=$((IDLE_CONNS / IDLE_RATE + $(max_ms "$HEADER_TIMEOUT_MS" "$IDLE_TIMEOUT_MS") / 1000 + GRACE_S + 11))
  attack idle "$P_IDLE" "$secs" 0 ROUTER_CLIENT_HEADER_TIMEOUT_MS="$HEADER_TIMEOUT_MS" \
    ROUTER_CLIENT_IDLE_TIMEOUT_MS="$IDLE_TIMEOUT_MS" -- idle --model "$MODEL" --key "$KEY" --conns "$IDLE_CONNS" \
    --rate "$IDLE_RATE" --header-timeout-ms "$HEADER_TIMEOUT_MS" --idle-timeout-ms "$IDLE_TIMEOUT_MS" \
    --grace-s "$GRACE_S" --request "$IDLE_REQUEST"
fi

# ---- 4: slowloris ---------------------------------------------------------------------------------------------------
if want slowloris; then
  secs=$(((SLOW_HEAD_CONNS + SLOW_BODY_CONNS) / SLOW_RATE + $(max_ms "$HEADER_TIMEOUT_MS" "$BODY_TIMEOUT_MS") / 1000 \
    + GRACE_S + 5))
  attack slow "$P_SLOW" "$secs" "$secs" ROUTER_CLIENT_HEADER_TIMEOUT_MS="$HEADER_TIMEOUT_MS" \
    ROUTER_CLIENT_BODY_TIMEOUT_MS="$BODY_TIMEOUT_MS" -- slowloris --model "$MODEL" --key "$KEY" \
    --head-conns "$SLOW_HEAD_CONNS" --body-conns "$SLOW_BODY_CONNS" --rate "$SLOW_RATE" \
    --interval-s "$SLOW_INTERVAL_S" --header-timeout-ms "$HEADER_TIMEOUT_MS" --body-timeout-ms "$BODY_TIMEOUT_MS" \
    --grace-s "$GRACE_S"
fi

stop_bg "$PID_SIM"
rec load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$B/edge_report.py" "$RES" | tee "$RUN/table.md"
echo
echo "details: $RUN"
