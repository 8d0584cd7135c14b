#!/usr/bin/env bash
# Runs the gateway on the bundled demo policy, with the vLLM simulator (a dev tool, no GPU) behind it.
#   ./run-demo.sh   -> API on http://127.0.0.1:8080/v1 (key sk-apirouter-demo), management on :9090 with the
#                      console at http://127.0.0.1:9090/ui/, simulator on 127.0.0.1:8000
# The console's admin token is ROUTER_ADMIN_TOKEN when set, else a new random one for this run, printed when ready.
# Ctrl-C (or SIGTERM) stops both; if either one dies, the other is stopped too and the script exits non-zero.
# It refuses to start when one of its ports is taken. Environment variables of the gateway (ROUTER_HTTP_PORT,
# ROUTER_MANAGEMENT_PORT, LOG_FORMAT, ...) pass through; the simulator's port is 8000, as the demo policy says.
set -euo pipefail
cd "$(dirname "$0")"

SIM_PORT=8000
HTTP_PORT="${ROUTER_HTTP_PORT:-8080}"
MGMT_PORT="${ROUTER_MANAGEMENT_PORT:-9090}"
SIM_PID=""
GATEWAY_PID=""
if [ -n "${ROUTER_ADMIN_TOKEN:-}" ]; then
  TOKEN_SHOWN="(your ROUTER_ADMIN_TOKEN)"
else
  # a demo admin token for this run only: 24 random bytes, hex
  ROUTER_ADMIN_TOKEN="demo-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  TOKEN_SHOWN="$ROUTER_ADMIN_TOKEN"
fi
export ROUTER_ADMIN_TOKEN

say() { echo "run-demo: $*" >&2; }

# true when something listens on the port (any address)
port_taken() {
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -ltnH "sport = :$1" 2>/dev/null)" ]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

taken=()
for entry in "$SIM_PORT:the vLLM simulator" "$HTTP_PORT:the gateway's API (ROUTER_HTTP_PORT)" \
             "$MGMT_PORT:the gateway's management port (ROUTER_MANAGEMENT_PORT)"; do
  port="${entry%%:*}"
  if [ "$port" != 0 ] && port_taken "$port"; then
    taken+=("port $port, needed for ${entry#*:}")
  fi
done
if [ ${#taken[@]} -gt 0 ]; then
  for t in "${taken[@]}"; do say "$t, is already in use."; done
  say "stop what listens there (ss -ltnp shows it) or, for the gateway's ports, set ROUTER_HTTP_PORT /"
  say "ROUTER_MANAGEMENT_PORT. Nothing was started."
  exit 1
fi

if [ ! -f target/api-router.jar ] || [ -n "$(find src routes pom.xml -newer target/api-router.jar -print -quit)" ]; then
  say "building target/api-router.jar (mvn -B -q package -DskipTests) ..."
  mvn -B -q package -DskipTests
fi

# Stops what this script started (by PID): SIGTERM, then SIGKILL after 30 s (the gateway drains for up to 25 s).
stop_all() {
  local pids=() pid i
  for pid in "$GATEWAY_PID" "$SIM_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for ((i = 0; i < 300; i++)); do
    local alive=()
    for pid in ${pids[@]+"${pids[@]}"}; do
      kill -0 "$pid" 2>/dev/null && alive+=("$pid")
    done
    [ ${#alive[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  for pid in "${alive[@]}"; do
    say "pid $pid did not stop within 30 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  done
}
on_signal() {
  trap '' INT TERM
  say "stopping the gateway and the simulator ..."
  stop_all
  say "stopped."
  exit 130
}
trap on_signal INT TERM
trap stop_all EXIT

java tools/vllm-sim/dev/apirouter/sim/VllmSimulator.java --port "$SIM_PORT" \
  --served-model-name meta-llama/Llama-3.1-8B-Instruct,BAAI/bge-small-en-v1.5 &
SIM_PID=$!

# the bundled demo policy is only served when asked for
ROUTER_DEMO=1 java -jar target/api-router.jar &
GATEWAY_PID=$!

# true when the gateway says it is ready (with curl), or at least listens (without)
gateway_ready() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$HTTP_PORT/v1/status/readyz" 2>/dev/null
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null
  fi
}

# Wait until both are ready (at most 2 minutes), or one of them dies.
for ((i = 0; i < 1200; i++)); do
  kill -0 "$SIM_PID" 2>/dev/null && kill -0 "$GATEWAY_PID" 2>/dev/null || break
  if (exec 3<>"/dev/tcp/127.0.0.1/$SIM_PORT") 2>/dev/null && gateway_ready; then
    cat >&2 <<EOF

run-demo: ready (simulator pid $SIM_PID, gateway pid $GATEWAY_PID). Ctrl-C stops both.
  API          http://127.0.0.1:$HTTP_PORT/v1          key: sk-apirouter-demo   (health: /v1/status/healthz)
  management   http://127.0.0.1:$MGMT_PORT/metrics     http://127.0.0.1:$MGMT_PORT/v1/status/readyz
  console      http://127.0.0.1:$MGMT_PORT/ui/         admin token: $TOKEN_SHOWN
  simulator    http://127.0.0.1:$SIM_PORT              (vLLM stand-in, models llama-3.1-8b and bge-small)

EOF
    break
  fi
  sleep 0.1
done

# Until either process ends (or a signal runs on_signal).
set +e
wait -n "$SIM_PID" "$GATEWAY_PID"
status=$?
set -e
if ! kill -0 "$SIM_PID" 2>/dev/null; then
  say "the simulator (pid $SIM_PID) ended (status $status): stopping the gateway."
else
  say "the gateway (pid $GATEWAY_PID) ended (status $status): stopping the simulator."
fi
stop_all
exit $((status == 0 ? 1 : status))
