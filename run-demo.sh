#!/usr/bin/env bash
# Runs the gateway on the bundled demo policy, with the vLLM simulator (a dev tool, no GPU) behind it.
#   ./run-demo.sh            -> gateway on http://127.0.0.1:8080 (management: :9090), simulator on 127.0.0.1:8000
# Environment variables of the gateway (ROUTER_HTTP_PORT, LOG_FORMAT, ...) pass through.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -f target/api-router.jar ] || [ -n "$(find src routes pom.xml -newer target/api-router.jar -print -quit)" ]; then
  echo "run-demo: building target/api-router.jar (mvn -B -q package -DskipTests) ..."
  mvn -B -q package -DskipTests
fi

SIM_PORT=8000
java tools/vllm-sim/dev/apirouter/sim/VllmSimulator.java --port "$SIM_PORT" \
  --served-model-name meta-llama/Llama-3.1-8B-Instruct,BAAI/bge-small-en-v1.5 &
SIM_PID=$!
trap 'kill "$SIM_PID" 2>/dev/null || true' EXIT INT TERM

# the bundled demo policy is only served when asked for
ROUTER_DEMO=1 java -jar target/api-router.jar
