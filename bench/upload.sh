#!/usr/bin/env bash
# Upload benchmark (issue 17): one multipart audio upload of BENCH_UPLOAD_MIB MiB (default 512) sent with curl
# (-F model=... -F file=@...) straight to the vLLM simulator and through the gateway (JVM heap BENCH_UPLOAD_HEAP,
# default 64m: the upload is many times the heap), with Content-Length and chunked; prints a table of throughput
# (MB/s, as curl measures it) and the gateway's resident memory: before, and its peak (VmHWM from /proc) after each.
#
#   bench/upload.sh
#   BENCH_UPLOAD_MIB=128 bench/upload.sh
#
# Everything on 127.0.0.1, ports BENCH_UPLOAD_PORT_BASE+1..+3 (default 19601-19603); output in
# bench/out/upload-<timestamp>/ (bench/out/upload-latest points at the last run). Each upload is bounded by
# BENCH_UPLOAD_MAX_S (default 300 s). Every process started here is stopped by PID on exit, failure and Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/bench
ME=upload.sh

PORT_BASE=${BENCH_UPLOAD_PORT_BASE:-19600}
MIB=${BENCH_UPLOAD_MIB:-512}
HEAP=${BENCH_UPLOAD_HEAP:-64m}
MAX_S=${BENCH_UPLOAD_MAX_S:-300}
P_SIM=$((PORT_BASE + 1))
P_GW=$((PORT_BASE + 2))
P_MGMT=$((PORT_BASE + 3))
MODEL=whisper
UPSTREAM=openai/whisper-large-v3
KEY=sk-apirouter-bench-upload
JAR=$ROOT/target/api-router.jar

for tool in java curl sha256sum truncate; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$ME: $tool is needed" >&2; exit 2; }
done
# shellcheck source=bench/lib.sh
. "$B/lib.sh"
for p in $P_SIM $P_GW $P_MGMT; do
  if port_in_use "$p"; then echo "$ME: port $p is taken (set BENCH_UPLOAD_PORT_BASE)" >&2; exit 2; fi
done
if [ ! -f "$JAR" ] || [ -n "$(find src/main -newer "$JAR" -type f -print -quit)" ]; then
  log "building $JAR"
  mvn -B -o -q package -DskipTests
fi

new_run upload upload-latest
rec_machine
rec upload_mib "$MIB"
rec gateway_heap "$HEAP"
FILE=$RUN/data/audio.wav
truncate -s "${MIB}M" "$FILE" # sparse: costs no disk, reads as zeros
cat >"$RUN/policy.yaml" <<YAML
models:
  $MODEL: {upstreamModel: $UPSTREAM, timeouts: {firstByteMs: 60000}, backends: [{url: "http://127.0.0.1:$P_SIM"}]}
keys:
  "$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)": {name: bench, models: ["*"]}
YAML

log "starting the simulator and the gateway (-Xmx$HEAP)"
start_bg sim java tools/vllm-sim/dev/apirouter/sim/VllmSimulator.java --port "$P_SIM" --served-model-name "$UPSTREAM"
SIM=$LAST_PID
wait_http "http://127.0.0.1:$P_SIM/health" 200 60 "$SIM"
start_bg gateway env ROUTER_HTTP_HOST=127.0.0.1 ROUTER_HTTP_PORT="$P_GW" ROUTER_MANAGEMENT_HOST=127.0.0.1 \
  ROUTER_MANAGEMENT_PORT="$P_MGMT" ROUTER_POLICY_FILE="$RUN/policy.yaml" ROUTER_ROUTES_DIR="$RUN/no-routes" \
  ROUTER_MAX_UPLOAD_BYTES=$(((MIB + 1) * 1024 * 1024)) java "-Xmx$HEAP" -jar "$JAR"
GW=$LAST_PID
wait_http "http://127.0.0.1:$P_GW/v1/models" 401 120 "$GW" # the routes are up (401: no key)

# the gateway JVM's own process (start_bg ran env, which exec'd java: same PID)
rss_kib() { awk -v f="$2" '$1 == f":" {print $2}' "/proc/$1/status"; }

# upload NAME URL MODEL [chunked]: one upload, its answer checked; records NAME_mbps, NAME_s and the gateway's memory
upload() {
  local name=$1 url=$2 model=$3 chunked=${4:-} out extra=()
  [ -n "$chunked" ] && extra=(-H 'Transfer-Encoding: chunked')
  out=$(curl -s --max-time "$MAX_S" -o "$RUN/$name.answer" -w '%{http_code} %{time_total} %{speed_upload}' \
    -H "Authorization: Bearer $KEY" "${extra[@]+"${extra[@]}"}" -F "model=$model" -F "file=@$FILE" "$url") || true
  set -- $out
  if [ "${1:-}" != 200 ]; then
    echo "$ME: $name answered ${1:-nothing}: $(head -c 300 "$RUN/$name.answer" 2>/dev/null)" >&2
    exit 1
  fi
  rec "${name}_s" "$2"
  rec "${name}_mbps" "$(awk -v b="$3" 'BEGIN {printf "%.0f", b / 1e6}')"
  rec "${name}_gateway_peak_rss_mib" "$(($(rss_kib "$GW" VmHWM) / 1024))"
}
rec gateway_idle_rss_mib "$(($(rss_kib "$GW" VmRSS) / 1024))"
log "$MIB MiB straight to the simulator"
upload direct "http://127.0.0.1:$P_SIM/v1/audio/transcriptions" "$UPSTREAM"
log "$MIB MiB through the gateway (Content-Length)"
upload gateway "http://127.0.0.1:$P_GW/v1/audio/transcriptions" "$MODEL"
log "$MIB MiB through the gateway (chunked)"
upload chunked "http://127.0.0.1:$P_GW/v1/audio/transcriptions" "$MODEL" chunked

v() { awk -F= -v k="$1" '$1 == k {print $2}' "$RES"; }
{
  echo "| path | $MIB MiB in | MB/s | gateway RSS (idle $(v gateway_idle_rss_mib) MiB, heap $HEAP): peak so far |"
  echo "|---|---|---|---|"
  echo "| curl -> simulator | $(v direct_s) s | $(v direct_mbps) | - |"
  echo "| curl -> gateway -> simulator (Content-Length) | $(v gateway_s) s | $(v gateway_mbps) | $(v gateway_gateway_peak_rss_mib) MiB |"
  echo "| curl -> gateway -> simulator (chunked) | $(v chunked_s) s | $(v chunked_mbps) | $(v chunked_gateway_peak_rss_mib) MiB |"
} | tee "$RUN/table.md"
