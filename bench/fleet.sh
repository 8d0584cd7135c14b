#!/usr/bin/env bash
# Fleet routing benchmark (issue 13): the gateway's routing strategies in front of 4 simulated vLLM engines, side by
# side, under a multi-turn chat workload; prints one table of figures, targets and PASS/FAIL.
#
#   bench/fleet.sh                              scenarios a and b, strategies weighted least-load prefix-affinity
#   FLEET_STRATEGIES=none bench/fleet.sh        a policy without "routing" (what a gateway without routing
#                                               strategies accepts; it routes weighted-random; a gateway with
#                                               them applies its default, prefix-affinity)
#   FLEET_SIM_DIR=../wt-sim/tools/vllm-sim ...  the simulator from another source tree
#   FLEET_SCENARIOS=a bench/fleet.sh            only scenario a
#
# Scenarios: (a) 4 equal backends; (b) the same with one backend FLEET_SLOWNESS (4) times slower. For each scenario
# and strategy: 4 fresh simulators (cold prefix caches, empty queues), a fresh gateway whose policy has one model on
# the 4 with that strategy, then bench/src/FleetLoad.java (open loop, fixed seed: every strategy gets the same
# sessions at the same times). The offered load is FLEET_LOAD (0.7) of the fleet's capacity, measured first by a
# closed-loop saturation run with the weighted strategy on scenario a's fleet (FLEET_REQ_RATE=<req/s> skips it).
# About 8-9 minutes. Everything on 127.0.0.1, ports FLEET_PORT_BASE+1..+5 (default 19401-19405); output in
# bench/out/fleet-<timestamp>/ (bench/out/fleet-latest points at the last run). Every process started here is
# stopped by PID on exit, on failure and on Ctrl-C too. See bench/README.md, "Fleet routing".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/bench

# ---- settings (environment overrides) -------------------------------------------------------------------------
PORT_BASE=${FLEET_PORT_BASE:-19400}
STRATEGIES=${FLEET_STRATEGIES:-weighted least-load prefix-affinity}
SCENARIOS=${FLEET_SCENARIOS:-a b}
ENGINE=${FLEET_ENGINE:-1}                      # 0: simulators without --engine (a trial of the script only)
LOAD=${FLEET_LOAD:-0.7}                        # offered load, share of the measured capacity
REQ_RATE=${FLEET_REQ_RATE:-}                   # set: scenario a's offered requests/s, no calibration run
CAL_CONCURRENCY=${FLEET_CAL_CONCURRENCY:-}    # closed-loop sessions of the calibration (default 4 x 16 slots x 1.5)
CAL_SECONDS=${FLEET_CAL_SECONDS:-30}
CAL_WARMUP_S=${FLEET_CAL_WARMUP_S:-10}         # not counted: the caches and queues fill first
DURATION_S=${FLEET_DURATION_S:-40}             # arrivals of new sessions
GRACE_S=${FLEET_GRACE_S:-20}                   # then the sessions finish; whatever is in flight after it is cut
MAX_SESSIONS=${FLEET_MAX_SESSIONS:-600}
SEED=${FLEET_SEED:-42}
APPS=${FLEET_APPS:-6}                          # distinct system prompts
SYSTEM_WORDS=${FLEET_SYSTEM_WORDS:-1500}       # words (~ tokens of the simulator) per system prompt
TURNS_MIN=${FLEET_TURNS_MIN:-3}
TURNS_MAX=${FLEET_TURNS_MAX:-6}
USER_WORDS_MIN=${FLEET_USER_WORDS_MIN:-8}
USER_WORDS_MAX=${FLEET_USER_WORDS_MAX:-24}
MAX_TOKENS=${FLEET_MAX_TOKENS:-16}             # answer length (tokens)
THINK_MS=${FLEET_THINK_MS:-1500}               # mean think time between turns (exponential, capped at 5 s)
SESSION_HEADER=${FLEET_SESSION_HEADER:-0}      # 1: each session sends x-session-id
REFERENCE=${FLEET_REFERENCE:-0}                # 1: per scenario, one more run without the gateway, app i -> backend i mod 4
SLOWNESS=${FLEET_SLOWNESS:-4}                  # scenario b: backend 4 is this many times slower
# engine of each simulator (see bench/README.md for why these values)
MAX_NUM_SEQS=${FLEET_MAX_NUM_SEQS:-16}
MAX_BATCHED_TOKENS=${FLEET_MAX_BATCHED_TOKENS:-2048}
BLOCK_SIZE=${FLEET_BLOCK_SIZE:-16}
GPU_BLOCKS=${FLEET_GPU_BLOCKS:-384}
STEP_MS=${FLEET_STEP_MS:-25}
DECODE_US=${FLEET_DECODE_US_PER_SEQ:-500}
PREFILL_US=${FLEET_PREFILL_US_PER_TOKEN:-100}
SIM_ARGS=${FLEET_SIM_ARGS:-}                   # extra flags for every simulator
# prefix-affinity settings written into its policy
AFFINITY_HEADER=${FLEET_AFFINITY_HEADER:-x-session-id}
AFFINITY_PREFIX_BYTES=${FLEET_AFFINITY_PREFIX_BYTES:-2048}
LOAD_FACTOR=${FLEET_LOAD_FACTOR:-1.25}

P_SIM=($((PORT_BASE + 1)) $((PORT_BASE + 2)) $((PORT_BASE + 3)) $((PORT_BASE + 4)))
P_GW=$((PORT_BASE + 5))
KEY=sk-apirouter-bench
MODEL=fleet
JAR=$ROOT/target/api-router.jar
SIM_DIR=${FLEET_SIM_DIR:-tools/vllm-sim}        # the simulator's source root (another worktree's, to try one)
SIM_SRC=$SIM_DIR/dev/apirouter/sim/VllmSimulator.java

for s in $STRATEGIES; do
  case $s in weighted|least-load|prefix-affinity|none) ;;
    *) echo "fleet.sh: unknown strategy '$s' (weighted | least-load | prefix-affinity | none)" >&2; exit 2;; esac
done
for s in $SCENARIOS; do
  case $s in a|b) ;; *) echo "fleet.sh: unknown scenario '$s' (a | b)" >&2; exit 2;; esac
done

# ---- prerequisites ---------------------------------------------------------------------------------------------
for tool in java javac python3 curl sha256sum timeout; do
  command -v "$tool" >/dev/null 2>&1 || { echo "fleet.sh: $tool is needed" >&2; exit 2; }
done
if [ ! -f "$JAR" ] || [ -n "$(find src routes pom.xml -newer "$JAR" -print -quit)" ]; then
  echo "fleet.sh: building $JAR ..." >&2
  mvn -B -q -o package -DskipTests || mvn -B -q package -DskipTests
fi

ME=fleet.sh
# shellcheck source=bench/lib.sh
source "$B/lib.sh"
for p in "${P_SIM[@]}" "$P_GW"; do
  if port_in_use "$p"; then
    echo "fleet.sh: port $p is in use; set FLEET_PORT_BASE to another base" >&2
    exit 2
  fi
done

new_run fleet fleet-latest
rec_machine
rec commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src routes pom.xml tools 2>/dev/null || echo '+dirty')"

# ---- the load generator and the simulator, compiled into the run directory ----------------------------------------
mkdir -p "$RUN/classes" "$RUN/sim-classes"
javac -d "$RUN/classes" "$B/src/FleetLoad.java"
javac -d "$RUN/sim-classes" -sourcepath "$SIM_DIR" "$SIM_SRC"
# the harness's JVMs (not the gateway's, which runs as documented, without flags) compile with C1 only and collect
# with one thread: less CPU taken from the gateway at their start on a 2-core machine
HARNESS_JVM=(-Xss512k -XX:TieredStopAtLevel=1 -XX:+UseSerialGC)
LOADGEN=(java "${HARNESS_JVM[@]}" -cp "$RUN/classes" FleetLoad)
SIM=(java "${HARNESS_JVM[@]}" -cp "$RUN/sim-classes" dev.apirouter.sim.VllmSimulator)

ENGINE_ARGS=()
if [ "$ENGINE" = 1 ]; then
  if ! grep -q -- '"--engine"' "$SIM_SRC" && ! "${SIM[@]}" --help 2>&1 | grep -q -- '--engine'; then
    echo "fleet.sh: this simulator ($SIM_SRC) has no --engine flag yet; FLEET_ENGINE=0 runs the script" \
      "without it (no queues, no prefix cache: a trial of the script, not a benchmark)" >&2
    exit 2
  fi
  ENGINE_ARGS=(--engine --max-num-seqs "$MAX_NUM_SEQS" --max-num-batched-tokens "$MAX_BATCHED_TOKENS"
    --block-size "$BLOCK_SIZE" --num-gpu-blocks "$GPU_BLOCKS" --step-ms "$STEP_MS"
    --decode-us-per-seq "$DECODE_US" --prefill-us-per-token "$PREFILL_US")
  CAL_CONCURRENCY=${CAL_CONCURRENCY:-$((4 * MAX_NUM_SEQS * 3 / 2))}
else
  CAL_CONCURRENCY=${CAL_CONCURRENCY:-16} # no engine: no slot limit, the machine would be what saturates
fi

rec strategies "$STRATEGIES"
rec scenarios "$SCENARIOS"
rec engine "$ENGINE"
rec engine_args "${ENGINE_ARGS[*]}"
rec sim_source "$SIM_DIR (commit $(git -C "$SIM_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$SIM_DIR" diff --quiet HEAD -- . 2>/dev/null || echo '+dirty'))"
rec sim_args "$SIM_ARGS"
rec slowness "$SLOWNESS"
rec load_share "$LOAD"
rec seed "$SEED"
rec workload "$APPS apps x $SYSTEM_WORDS-word system prompts, $TURNS_MIN-$TURNS_MAX turns, $USER_WORDS_MIN-$USER_WORDS_MAX-word user turns, $MAX_TOKENS-token answers, think ${THINK_MS} ms mean"
rec duration_s "$DURATION_S"
rec grace_s "$GRACE_S"
rec session_header "$SESSION_HEADER"
rec reference "$REFERENCE"

HASH=$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)
BACKEND_URLS=() METRICS_URLS=()
for p in "${P_SIM[@]}"; do
  BACKEND_URLS+=("http://127.0.0.1:$p")
  METRICS_URLS+=("http://127.0.0.1:$p/metrics")
done
METRICS=$(IFS=,; echo "${METRICS_URLS[*]}")

# policy FILE STRATEGY: one model on the 4 simulators, routed by STRATEGY ("none": no routing field at all)
policy() {
  local routing=
  case $2 in
    none) ;;
    prefix-affinity)
      routing="    routing: { strategy: prefix-affinity, affinity: { header: \"$AFFINITY_HEADER\", prefixBytes: $AFFINITY_PREFIX_BYTES }, loadFactor: $LOAD_FACTOR }" ;;
    *) routing="    routing: { strategy: $2 }" ;;
  esac
  {
    echo "# generated by bench/fleet.sh"
    echo "models:"
    echo "  $MODEL:"
    echo "    backends:"
    for u in "${BACKEND_URLS[@]}"; do echo "      - { url: \"$u\" }"; done
    echo "    timeouts: { connectMs: 1000, firstByteMs: 120000, idleMs: 60000 }"
    [ -z "$routing" ] || echo "$routing"
    echo "keys:"
    echo "  \"$HASH\": { name: bench, models: [\"*\"] }"
  } >"$1"
}

# every strategy's policy must validate before anything starts (a gateway without routing strategies rejects the field)
for strat in $STRATEGIES; do
  policy "$RUN/policy-check-$strat.yaml" "$strat"
  if ! java -jar "$JAR" policy validate "$RUN/policy-check-$strat.yaml" >"$RUN/policy-check-$strat.txt" 2>&1; then
    echo "fleet.sh: this gateway rejects the policy of strategy $strat: $(grep -m1 'invalid' "$RUN/policy-check-$strat.txt")" >&2
    [ "$strat" = none ] || echo "fleet.sh: FLEET_STRATEGIES=none runs with a policy without \"routing\"" >&2
    exit 2
  fi
  rm -f "$RUN/policy-check-$strat.yaml" "$RUN/policy-check-$strat.txt"
done

# ---- components ----------------------------------------------------------------------------------------------------
SIM_PIDS=() GW_PID=

# start_fleet SCENARIO LABEL: 4 fresh simulators (b: the 4th is SLOWNESS times slower), waits for their /health
start_fleet() {
  local scen=$1 label=$2 i extra delay
  SIM_PIDS=()
  for i in 0 1 2 3; do
    extra=() delay=$STEP_MS
    if [ "$scen" = b ] && [ "$i" = 3 ]; then
      if [ "$ENGINE" = 1 ]; then
        extra=(--slowness "$SLOWNESS")
      else
        delay=$((STEP_MS * SLOWNESS)) # without the engine, a slower token pace stands in for it
      fi
    fi
    # shellcheck disable=SC2086
    start_bg "sim-$label-$((i + 1))" "${SIM[@]}" --port "${P_SIM[$i]}" --served-model-name "$MODEL" \
      --token-delay-ms "$delay" --max-tokens "$MAX_TOKENS" "${ENGINE_ARGS[@]}" "${extra[@]}" $SIM_ARGS
    SIM_PIDS+=("$LAST_PID")
  done
  for i in 0 1 2 3; do wait_http "http://127.0.0.1:${P_SIM[$i]}/health" 200 60 "${SIM_PIDS[$i]}"; done
}

stop_fleet() {
  local p
  [ -z "$GW_PID" ] || stop_bg "$GW_PID"
  GW_PID=
  for p in "${SIM_PIDS[@]+"${SIM_PIDS[@]}"}"; do stop_bg "$p"; done
  SIM_PIDS=()
}

# start_gateway STRATEGY LABEL: a fresh gateway with that strategy's policy; one small request must be answered
start_gateway() {
  local strat=$1 label=$2 out code
  policy "$RUN/policy-$label.yaml" "$strat"
  mkdir -p "$RUN/data-$label"
  start_bg "gateway-$label" env ROUTER_HTTP_PORT="$P_GW" ROUTER_HTTP_HOST=127.0.0.1 \
    ROUTER_POLICY_FILE="$RUN/policy-$label.yaml" ROUTER_MANAGEMENT_PORT=0 ROUTER_MANAGEMENT_HOST=127.0.0.1 \
    ROUTER_SHUTDOWN_GRACE_MS=2000 ROUTER_DATA_DIR="$RUN/data-$label" java -jar "$JAR"
  GW_PID=$LAST_PID
  wait_http "http://127.0.0.1:$P_GW/v1/status/readyz" 200 90 "$GW_PID"
  out=$RUN/smoke-$label.txt
  code=$(curl -s -o "$out" -w '%{http_code}' --max-time 20 "http://127.0.0.1:$P_GW/v1/chat/completions" \
    -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":1}" || true)
  if [ "$code" != 200 ]; then
    echo "fleet.sh: a request through the gateway ($strat) answered $code: $(head -c 300 "$out")" >&2
    if [ "$code" = 404 ] && [ "$strat" != none ]; then
      echo "fleet.sh: the gateway probably rejected the policy's \"routing\" field (see $RUN/gateway-$label.log);" \
        "FLEET_STRATEGIES=none runs without it" >&2
    fi
    return 1
  fi
}

# load LABEL ARGS...: FleetLoad through the gateway, its key=value results appended to results.txt as LABEL_*
load() {
  local label=$1 secs
  shift
  secs=$((DURATION_S + GRACE_S + 60))
  rec "${label}_load" "$(load1)"
  run_fg timeout "$secs" "${LOADGEN[@]}" --url "http://127.0.0.1:$P_GW" --key "$KEY" --model "$MODEL" \
    --metrics "$METRICS" --prefix "${label}_" --seed "$SEED" --apps "$APPS" --system-words "$SYSTEM_WORDS" \
    --turns-min "$TURNS_MIN" --turns-max "$TURNS_MAX" --user-words-min "$USER_WORDS_MIN" \
    --user-words-max "$USER_WORDS_MAX" --max-tokens "$MAX_TOKENS" --session-header "$SESSION_HEADER" \
    --max-sessions "$MAX_SESSIONS" --dump "$RUN/requests-$label.txt" "$@" \
    >"$RUN/$label.txt" 2>"$RUN/$label.err" || echo "fleet.sh: the load generator of $label failed (see $RUN/$label.err)" >&2
  cat "$RUN/$label.txt" >>"$RES"
  [ ! -s "$RUN/$label.err" ] || sed "s/^/  $label: /" "$RUN/$label.err" >&2
  rec "${label}_gateway_502_logged" "$(grep -c 'no backend answered' "$RUN/gateway-$label.log" 2>/dev/null || true)"
}

label_of() { echo "$1" | tr - _; }

# ---- calibration: the fleet's capacity in requests/s ---------------------------------------------------------------
CAL_STRATEGY=weighted
case " $STRATEGIES " in *" weighted "*) ;; *) CAL_STRATEGY=${STRATEGIES%% *};; esac
if [ -n "$REQ_RATE" ]; then
  rec rate_source "FLEET_REQ_RATE"
  RATE_A=$REQ_RATE
else
  log "calibration: scenario a's fleet, $CAL_STRATEGY, $CAL_CONCURRENCY closed-loop sessions without think time, ${CAL_SECONDS}s"
  start_fleet a cal
  start_gateway "$CAL_STRATEGY" cal
  load cal --mode closed --concurrency "$CAL_CONCURRENCY" --duration-s "$CAL_SECONDS" --warmup-s "$CAL_WARMUP_S" \
    --seed $((SEED + 1))
  stop_fleet
  cap=$(awk -F= '$1 == "cal_capacity_req_s" {print $2}' "$RES" | tail -1)
  if [ -z "$cap" ] || ! awk -v c="$cap" 'BEGIN {exit !(c > 0)}'; then
    echo "fleet.sh: the calibration measured no capacity (see $RUN/cal.err); FLEET_REQ_RATE=<req/s> skips it" >&2
    exit 1
  fi
  rec rate_source "calibration ($CAL_STRATEGY, closed loop)"
  rec cal_strategy "$CAL_STRATEGY"
  RATE_A=$(awk -v c="$cap" -v l="$LOAD" 'BEGIN {printf "%.3f", c * l}')
fi
# scenario b's fleet has (3 + 1/SLOWNESS)/4 of the compute of a's: the same share of that
RATE_B=$(awk -v r="$RATE_A" -v s="$SLOWNESS" 'BEGIN {printf "%.3f", r * (3 + 1 / s) / 4}')
rec rate_a_req_s "$RATE_A"
rec rate_b_req_s "$RATE_B"

# ---- the runs --------------------------------------------------------------------------------------------------------
for scen in $SCENARIOS; do
  rate=$RATE_A
  [ "$scen" = b ] && rate=$RATE_B
  for strat in $STRATEGIES; do
    label=${scen}_$(label_of "$strat")
    log "scenario $scen, $strat: fresh fleet and gateway, $rate req/s offered for ${DURATION_S}s (+${GRACE_S}s to finish)"
    start_fleet "$scen" "$label"
    start_gateway "$strat" "$label"
    load "$label" --mode open --req-rate "$rate" --duration-s "$DURATION_S" --deadline-s $((DURATION_S + GRACE_S)) \
      --think-ms "$THINK_MS"
    stop_fleet
  done
  if [ "$REFERENCE" = 1 ]; then
    label=${scen}_static
    log "scenario $scen, reference: fresh fleet, no gateway, app i -> backend i mod 4, $rate req/s offered"
    start_fleet "$scen" "$label"
    load "$label" --mode open --req-rate "$rate" --duration-s "$DURATION_S" --deadline-s $((DURATION_S + GRACE_S)) \
      --think-ms "$THINK_MS" --app-urls "$(IFS=,; echo "${BACKEND_URLS[*]}")"
    stop_fleet
  fi
done

rec load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$B/fleet_report.py" "$RES" | tee "$RUN/table.md"
echo
echo "details: $RUN"
