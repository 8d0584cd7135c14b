#!/usr/bin/env bash
# Key-limits benchmark (issue 14): a key's rpm limit shared by 3 gateways through Redis, the same with in-process
# counters, Redis killed halfway, and what a limit costs per request; prints one table of figures, targets and
# PASS/FAIL.
#
#   bench/limits.sh                                  everything, about 9-10 minutes
#   bench/limits.sh shared kill                      only some phases: shared | kill | local | cost
#   BENCH_LIMITS_DURATION_S=30 bench/limits.sh       a trial: 30 s load phases (no whole minute after the first:
#                                                    the rpm target is then "skip")
#   python3 bench/limits_report.py bench/out/limits-latest/results.txt     the table of the last run again
#
# shared: 3 gateways (one policy file, ROUTER_REDIS_URL to one Redis), one key limited to rpm BENCH_LIMITS_RPM (600),
#   offered 3x that (BENCH_LIMITS_RATE, 30 req/s in total) round-robin over the 3, open loop, for DURATION_S (120).
# kill: the same gateways and Redis go on for DURATION_S more (the key's window is then already full: the minute
#   before the kill is steady); Redis gets SIGKILL at the half; admitted per minute before and after, and every
#   answer that is neither 200 nor 429.
# local: 3 fresh gateways without ROUTER_REDIS_URL, the same load: each counts alone.
# cost: one fresh gateway (in-process counters), wrk -t2 -c32 (BENCH_LIMITS_WRK_ARGS) for COST_S (15) s each on a key
#   with rpm 100000000 (nothing refused) and on a key without limits, after a warm-up of each; then the same on a
#   fresh gateway with Redis counters (informative).
# Backend: one vLLM simulator, 0 ms per token, 1 token. Everything on 127.0.0.1, ports BENCH_LIMITS_PORT_BASE+1..+6
# (default 19501-19506); output in bench/out/limits-<timestamp>/ (bench/out/limits-latest points at the last run).
# Every process started here is stopped by PID on exit, on failure and on Ctrl-C. See bench/README.md, "Key limits".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/bench

# ---- settings (environment overrides) -------------------------------------------------------------------------
PORT_BASE=${BENCH_LIMITS_PORT_BASE:-19500}
DURATION_S=${BENCH_LIMITS_DURATION_S:-120}     # each open-loop phase (shared, kill, local)
RPM=${BENCH_LIMITS_RPM:-600}
RATE=${BENCH_LIMITS_RATE:-$(awk -v r="$RPM" 'BEGIN {print 3 * r / 60}')} # req/s offered in total
WARMUP_S=${BENCH_LIMITS_WARMUP_S:-10}          # each fresh trio: RATE req/s with the rpm-100000000 key, not counted
WRK_ARGS=${BENCH_LIMITS_WRK_ARGS:--t2 -c32}
COST_S=${BENCH_LIMITS_COST_S:-15}
COST_WARMUP_S=${BENCH_LIMITS_COST_WARMUP_S:-10}
COST_REDIS=${BENCH_LIMITS_COST_REDIS:-1}       # 0: no Redis part in cost
PHASES=${*:-shared kill local cost}
for ph in $PHASES; do
  case $ph in shared|kill|local|cost) ;;
    *) echo "limits.sh: unknown phase '$ph' (shared | kill | local | cost)" >&2; exit 2;; esac
done

P_SIM=$((PORT_BASE + 1))
P_REDIS=$((PORT_BASE + 2))
P_GW=($((PORT_BASE + 3)) $((PORT_BASE + 4)) $((PORT_BASE + 5)))
P_COST=$((PORT_BASE + 6))
MODEL=fast
KEY_LIMITED=sk-apirouter-bench-limited         # name "limited", rpm RPM
KEY_FREE=sk-apirouter-bench-free               # name "free", no limits
KEY_HUGE=sk-apirouter-bench-huge               # name "huge", rpm 100000000 (the cost phase: nothing refused)
JAR=$ROOT/target/api-router.jar

# ---- prerequisites ---------------------------------------------------------------------------------------------
for tool in java javac python3 curl sha256sum timeout redis-server; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "limits.sh: $tool is needed$([ "$tool" = redis-server ] && echo ' (apt-get install -y redis-server)')" >&2
    exit 2
  }
done
HAVE_WRK=0
command -v wrk >/dev/null 2>&1 && HAVE_WRK=1
if [ ! -f "$JAR" ] || [ -n "$(find src routes pom.xml -newer "$JAR" -print -quit)" ]; then
  echo "limits.sh: building $JAR ..." >&2
  mvn -B -q -o package -DskipTests || mvn -B -q package -DskipTests
fi

ME=limits.sh
# shellcheck source=bench/lib.sh
source "$B/lib.sh"
for p in "$P_SIM" "$P_REDIS" "${P_GW[@]}" "$P_COST"; do
  if port_in_use "$p"; then
    echo "limits.sh: port $p is in use; set BENCH_LIMITS_PORT_BASE to another base" >&2
    exit 2
  fi
done

new_run limits limits-latest
rec_machine
rec commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src routes pom.xml 2>/dev/null || echo '+dirty')"
rec phases "$PHASES"
rec rpm "$RPM"
rec rate "$RATE"
rec duration_s "$DURATION_S"
rec redis "$(redis-server --version | head -1)"
rec cost_s "$COST_S"
if [ "$HAVE_WRK" = 1 ]; then rec cost_tool "wrk $WRK_ARGS ($(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2))"; else rec cost_tool "LimitLoad closed, 32 connections (no wrk)"; fi

mkdir -p "$RUN/classes" "$RUN/sim-classes"
javac -d "$RUN/classes" "$B/src/LimitLoad.java"
javac -d "$RUN/sim-classes" -sourcepath tools/vllm-sim tools/vllm-sim/dev/apirouter/sim/VllmSimulator.java
# the harness's JVMs (not the gateways, which run as documented, without flags): C1 only, one GC thread
HARNESS_JVM=(-Xss512k -XX:TieredStopAtLevel=1 -XX:+UseSerialGC)
LOADGEN=(java "${HARNESS_JVM[@]}" -cp "$RUN/classes" LimitLoad)

hash() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
POLICY=$RUN/policy.yaml
cat >"$POLICY" <<EOF
# generated by bench/limits.sh
models:
  $MODEL:
    backends:
      - { url: "http://127.0.0.1:$P_SIM" }
keys:
  "$(hash "$KEY_LIMITED")": { name: limited, models: ["*"], limits: { rpm: $RPM } }
  "$(hash "$KEY_FREE")": { name: free, models: ["*"] }
  "$(hash "$KEY_HUGE")": { name: huge, models: ["*"], limits: { rpm: 100000000 } }
EOF
if ! java -jar "$JAR" policy validate "$POLICY" >"$RUN/policy-validate.txt" 2>&1; then
  echo "limits.sh: the gateway rejects the policy: $(head -3 "$RUN/policy-validate.txt")" >&2
  exit 2
fi

# ---- components ------------------------------------------------------------------------------------------------
start_bg sim java "${HARNESS_JVM[@]}" -cp "$RUN/sim-classes" dev.apirouter.sim.VllmSimulator --port "$P_SIM" \
  --served-model-name "$MODEL" --token-delay-ms 0 --max-tokens 1
PID_SIM=$LAST_PID
wait_http "http://127.0.0.1:$P_SIM/health" 200 60 "$PID_SIM"

REDIS_PID=
# start_redis LABEL: a fresh Redis on P_REDIS, nothing saved
start_redis() {
  local i
  mkdir -p "$RUN/redis-$1"
  start_bg "redis-$1" redis-server --port "$P_REDIS" --bind 127.0.0.1 --save '' --appendonly no --dir "$RUN/redis-$1"
  REDIS_PID=$LAST_PID
  for ((i = 0; i < 100; i++)); do
    port_in_use "$P_REDIS" && return 0
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "limits.sh: redis did not start (see $RUN/redis-$1.log)" >&2
  return 1
}
stop_redis() {
  [ -z "$REDIS_PID" ] || stop_bg "$REDIS_PID"
  REDIS_PID=
}

# start_gateway NAME PORT ENV=VALUE...: java -jar as documented (no JVM flags); waits for readyz 200; sets LAST_PID
start_gateway() {
  local name=$1 port=$2 pid
  shift 2
  mkdir -p "$RUN/data-$name"
  start_bg "$name" env -u ROUTER_REDIS_URL -u ETCD_ENDPOINTS -u OTEL_EXPORTER_OTLP_ENDPOINT \
    ROUTER_HTTP_PORT="$port" ROUTER_HTTP_HOST=127.0.0.1 ROUTER_POLICY_FILE="$POLICY" \
    ROUTER_MANAGEMENT_PORT=0 ROUTER_MANAGEMENT_HOST=127.0.0.1 ROUTER_SHUTDOWN_GRACE_MS=2000 \
    ROUTER_DATA_DIR="$RUN/data-$name" "$@" java -jar "$JAR"
  pid=$LAST_PID
  wait_http "http://127.0.0.1:$port/v1/status/readyz" 200 120 "$pid"
  LAST_PID=$pid
}

GW_PIDS=()
GW_URLS=$(printf 'http://127.0.0.1:%s,' "${P_GW[@]}")
GW_URLS=${GW_URLS%,}
# start_trio LABEL ENV=VALUE...: 3 fresh gateways (started together), then WARMUP_S of the load with the key of rpm
# 100000000 (JIT, connections, and with Redis its script and connection: a cold first Redis call can miss the 250 ms
# deadline on a busy machine; the limited key's counters are left untouched)
start_trio() {
  local label=$1 i
  shift
  TRIO=$label
  GW_PIDS=()
  for i in 0 1 2; do
    mkdir -p "$RUN/data-$label-$((i + 1))"
    start_bg "gateway-$label-$((i + 1))" env -u ROUTER_REDIS_URL -u ETCD_ENDPOINTS -u OTEL_EXPORTER_OTLP_ENDPOINT \
      ROUTER_HTTP_PORT="${P_GW[$i]}" ROUTER_HTTP_HOST=127.0.0.1 ROUTER_POLICY_FILE="$POLICY" \
      ROUTER_MANAGEMENT_PORT=0 ROUTER_MANAGEMENT_HOST=127.0.0.1 ROUTER_SHUTDOWN_GRACE_MS=2000 \
      ROUTER_DATA_DIR="$RUN/data-$label-$((i + 1))" "$@" java -jar "$JAR"
    GW_PIDS+=("$LAST_PID")
  done
  for i in 0 1 2; do wait_http "http://127.0.0.1:${P_GW[$i]}/v1/status/readyz" 200 120 "${GW_PIDS[$i]}"; done
  if [ "$WARMUP_S" -gt 0 ]; then
    run_fg timeout $((WARMUP_S + 30)) "${LOADGEN[@]}" open --urls "$GW_URLS" --key "$KEY_HUGE" --model "$MODEL" \
      --rate "$RATE" --duration-s "$WARMUP_S" --per-second "$RUN/persec-warm-$label.txt" --prefix "warm_${label}_" \
      >"$RUN/warm-$label.txt" 2>"$RUN/warm-$label.err" || true
    grep -E "^warm_${label}_(ok|sent|other_status|errors)=" "$RUN/warm-$label.txt" >>"$RES" || true
  fi
}
stop_trio() {
  local i
  for ((i = ${#GW_PIDS[@]} - 1; i >= 0; i--)); do stop_bg "${GW_PIDS[$i]}"; done
  GW_PIDS=()
}

# failovers: the gateways' WARN lines "redis ... unusable" so far (each one starts a spell of in-process counting)
failovers() { cat "$RUN"/gateway-"$TRIO"-*.log 2>/dev/null | grep -c 'Limit counters: redis .* unusable' || true; }

# open_load LABEL ARGS...: the limited key at RATE req/s over the 3 gateways for DURATION_S; LABEL_* into results.txt
open_load() {
  local label=$1 f0
  shift
  rec "${label}_load" "$(load1)"
  f0=$(failovers)
  run_fg timeout $((DURATION_S + 60)) "${LOADGEN[@]}" open --urls "$GW_URLS" --key "$KEY_LIMITED" --model "$MODEL" \
    --rate "$RATE" --duration-s "$DURATION_S" --per-second "$RUN/persec-$label.txt" --prefix "${label}_" "$@" \
    >"$RUN/$label.txt" 2>"$RUN/$label.err" || echo "limits.sh: the load of $label failed (see $RUN/$label.err)" >&2
  cat "$RUN/$label.txt" >>"$RES"
  [ ! -s "$RUN/$label.err" ] || sed "s/^/  $label: /" "$RUN/$label.err" >&2
  rec "${label}_load_end" "$(load1)"
  rec "${label}_redis_failovers" $(($(failovers) - f0))
}

has() { case " $PHASES " in *" $1 "*) return 0;; esac; return 1; }
STEADY_FROM=60
[ "$DURATION_S" -ge 90 ] || STEADY_FROM=$((DURATION_S / 2))
HALF=$((DURATION_S / 2))

# ---- 1. shared (Redis) and 3. Redis killed halfway ----------------------------------------------------------------
if has shared || has kill; then
  start_redis shared
  log "3 gateways sharing Redis :$P_REDIS (warm-up ${WARMUP_S}s with the key of rpm 100000000)"
  start_trio redis ROUTER_REDIS_URL="redis://127.0.0.1:$P_REDIS"
  if has shared; then
    log "shared: key rpm $RPM, $RATE req/s round-robin over 3 gateways, ${DURATION_S}s"
    open_load shared --window "steady:$STEADY_FROM:"
    rec shared_steady_from_s "$STEADY_FROM"
  fi
  if has kill; then
    rec kill_window_warm "$(has shared && echo 1 || echo 0)" # 1: the key's window carried on from the shared run
    log "kill: the same for ${DURATION_S}s more, redis (pid $REDIS_PID) SIGKILLed at ${HALF}s"
    open_load kill --kill-pid "$REDIS_PID" --kill-at-s "$HALF" --window "before:0:$HALF" --window "after:$HALF:"
    wait_bg "$REDIS_PID" || true # it was killed by the load generator: collected here, never signalled again
    REDIS_PID=
    for i in 1 2 3; do
      rec "kill_gateway${i}_redis_warnings" "$(grep -c 'Limit counters: redis' "$RUN/gateway-redis-$i.log" || true)"
      rec "kill_gateway${i}_readyz_after" "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:${P_GW[$((i - 1))]}/v1/status/readyz" || true)"
    done
  fi
  stop_trio
  stop_redis
fi

# ---- 2. in-process counters -----------------------------------------------------------------------------------------
if has local; then
  log "3 gateways, in-process counters (warm-up ${WARMUP_S}s with the key of rpm 100000000)"
  start_trio local
  log "local: key rpm $RPM, $RATE req/s round-robin over 3 gateways, ${DURATION_S}s"
  open_load local --window "steady:$STEADY_FROM:"
  rec local_steady_from_s "$STEADY_FROM"
  stop_trio
fi

# ---- 4. cost --------------------------------------------------------------------------------------------------------
# closed LABEL PORT KEY SECONDS: closed loop at fixed concurrency; LABEL's rps, p50/p99 (us) and errors into results.txt
closed() {
  local label=$1 port=$2 key=$3 secs=$4 out line kv
  out=$RUN/closed-$label.txt
  rec "cost_${label}_load" "$(load1)"
  if [ "$HAVE_WRK" = 1 ]; then
    # shellcheck disable=SC2086
    run_fg env BENCH_MODEL="$MODEL" BENCH_KEY="$key" timeout $((secs + 60)) wrk $WRK_ARGS -d"${secs}s" --timeout 5s \
      -s "$B/wrk-post.lua" "http://127.0.0.1:$port/v1/chat/completions" >"$out" 2>&1 || true
    line=$(grep '^RESULT ' "$out" | tail -1 || true)
    if [ -z "$line" ]; then
      echo "limits.sh: wrk ($label) gave no result (see $out)" >&2
      return 0
    fi
    for kv in ${line#RESULT }; do rec "cost_${label}_${kv%%=*}" "${kv#*=}"; done
    # wrk counts non-2xx answers apart from its errors
    rec "cost_${label}_non2xx" "$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out" | tail -1)"
  else
    run_fg timeout $((secs + 60)) "${LOADGEN[@]}" closed --url "http://127.0.0.1:$port" --key "$key" --model "$MODEL" \
      --concurrency 32 --duration-s "$secs" --prefix "cost_${label}_" >"$out" 2>&1 || true
    cat "$out" >>"$RES"
  fi
}

if has cost; then
  log "cost: one gateway, in-process counters; warm-up ${COST_WARMUP_S}s per key, then ${COST_S}s per key"
  start_gateway gateway-cost "$P_COST"
  PID_COST=$LAST_PID
  closed warm_free "$P_COST" "$KEY_FREE" "$COST_WARMUP_S"
  closed warm_huge "$P_COST" "$KEY_HUGE" "$COST_WARMUP_S"
  closed free "$P_COST" "$KEY_FREE" "$COST_S"
  closed huge "$P_COST" "$KEY_HUGE" "$COST_S"
  stop_bg "$PID_COST"
  if [ "$COST_REDIS" = 1 ]; then
    start_redis cost
    log "cost: one gateway, Redis counters; warm-up ${COST_WARMUP_S}s per key, then ${COST_S}s per key"
    start_gateway gateway-cost-redis "$P_COST" ROUTER_REDIS_URL="redis://127.0.0.1:$P_REDIS"
    PID_COST=$LAST_PID
    closed warm_rfree "$P_COST" "$KEY_FREE" "$COST_WARMUP_S"
    closed warm_rhuge "$P_COST" "$KEY_HUGE" "$COST_WARMUP_S"
    closed rfree "$P_COST" "$KEY_FREE" "$COST_S"
    closed rhuge "$P_COST" "$KEY_HUGE" "$COST_S"
    stop_bg "$PID_COST"
    stop_redis
  fi
fi

rec load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$B/limits_report.py" "$RES" | tee "$RUN/table.md"
echo
echo "details: $RUN"
