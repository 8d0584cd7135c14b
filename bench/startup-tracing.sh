#!/usr/bin/env bash
# Start-up and throughput cost of tracing (issue 4). Prints a table:
#   - time from process start to the first healthz 200 (median of 5 runs): tracing off, on (collector present),
#     on with a hung collector (accepts connections, never answers);
#   - requests/s through the gateway (wrk, non-streamed chat completions) with tracing off and on.
# Everything runs on 127.0.0.1 and stops by itself. Needs java, curl, python3 and wrk; nginx as a fast backend and
# collector when present (else the vLLM simulator and a small python collector).
#   bench/startup-tracing.sh            RUNS=5 DURATION=10s CONNECTIONS=32 THREADS=2 to change
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
JAR=target/api-router.jar
KEY=sk-bench-tracing
WORK=$(mktemp -d /tmp/bench-startup-tracing.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

for tool in java curl python3 wrk; do
  command -v "$tool" >/dev/null || { echo "startup-tracing: $tool is needed" >&2; exit 1; }
done
if [ ! -f "$JAR" ]; then
  echo "startup-tracing: building $JAR" >&2
  mvn -B -q package -DskipTests
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

BACKEND_PORT=$(free_port)
COLLECTOR_PORT=$(free_port)
HUNG_PORT=$(free_port)
BODY='{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}'

if command -v nginx >/dev/null; then
  BACKEND_KIND=nginx
  mkdir -p "$WORK/nginx"
  cat > "$WORK/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$BACKEND_PORT;
    location / { default_type application/json; return 200 '$BODY'; }
  }
  server {
    listen 127.0.0.1:$COLLECTOR_PORT;
    client_max_body_size 64m;
    location /v1/traces { default_type application/x-protobuf; return 200 ''; }
  }
}
NGINX
  nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
  PIDS+=($!)
else
  BACKEND_KIND=vllm-sim
  java tools/vllm-sim/dev/apirouter/sim/VllmSimulator.java --port "$BACKEND_PORT" --served-model-name m >/dev/null 2>&1 &
  PIDS+=($!)
  python3 - "$COLLECTOR_PORT" >/dev/null 2>&1 <<'PY' &
import sys, http.server, socketserver
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
  PIDS+=($!)
fi

# hung collector: accepts every connection, reads, never answers
python3 - "$HUNG_PORT" >/dev/null 2>&1 <<'PY' &
import sys, socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(128)
held = []
def drain(c):
    try:
        while c.recv(65536): pass
    except OSError: pass
while True:
    c, _ = s.accept(); held.append(c); threading.Thread(target=drain, args=(c,), daemon=True).start()
PY
PIDS+=($!)

for port in "$BACKEND_PORT" "$COLLECTOR_PORT" "$HUNG_PORT"; do
  for _ in $(seq 1 200); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2).close()" 2>/dev/null; then break; fi
    sleep 0.05
  done
done

HASH=$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)
cat > "$WORK/policy.yaml" <<YAML
models:
  m:
    backends: [{url: "http://127.0.0.1:$BACKEND_PORT"}]
keys:
  "$HASH": {name: bench, models: ["*"]}
YAML

# start_gateway <port> <otlp endpoint or empty>; sets GW_PID
start_gateway() {
  ROUTER_HTTP_HOST=127.0.0.1 ROUTER_HTTP_PORT="$1" ROUTER_POLICY_FILE="$WORK/policy.yaml" ROUTER_SHUTDOWN_GRACE_MS=2000 \
    ROUTER_MANAGEMENT_HOST=127.0.0.1 ROUTER_MANAGEMENT_PORT=0 \
    ROUTER_DATA_DIR="$WORK/data" OTEL_EXPORTER_OTLP_ENDPOINT="$2" \
    java -jar "$JAR" >>"$WORK/gateway.log" 2>&1 &
  GW_PID=$!
  PIDS+=("$GW_PID")
}

stop_gateway() {
  kill -TERM "$GW_PID" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$GW_PID" 2>/dev/null || true
  wait "$GW_PID" 2>/dev/null || true
}

# starts a gateway on $1 (OTLP endpoint $3) and sets ELAPSED to the ms from its start to $2 answering 200 (bounded at
# about 30 s); not in a subshell, so that GW_PID and PIDS stay known here
time_to() {
  local port=$1 path=$2 t0 t
  t0=$(date +%s%N)
  start_gateway "$port" "$3"
  ELAPSED=timeout
  for _ in $(seq 1 3000); do
    if curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$port/v1/status/$path" 2>/dev/null | grep -q 200; then
      t=$(date +%s%N); ELAPSED=$(( (t - t0) / 1000000 )); return
    fi
    sleep 0.01
  done
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }

declare -A HEALTHZ READYZ
for mode in off on hung; do
  case $mode in
    off) endpoint="" ;;
    on) endpoint="http://127.0.0.1:$COLLECTOR_PORT" ;;
    hung) endpoint="http://127.0.0.1:$HUNG_PORT" ;;
  esac
  h=(); r=()
  for _ in $(seq 1 "$RUNS"); do
    port=$(free_port)
    time_to "$port" healthz "$endpoint"
    h+=("$ELAPSED")
    # then wait for readiness; the gateway logs when it was ready, counted from its start
    for _ in $(seq 1 3000); do
      if curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$port/v1/status/readyz" | grep -q 200; then break; fi
      sleep 0.01
    done
    stop_gateway
    r+=("$(grep -o 'ready to serve on port [0-9]* ([0-9]* ms since start)' "$WORK/gateway.log" 2>/dev/null | tail -1 | sed 's/.*(\([0-9]*\) ms.*/\1/')")
  done
  HEALTHZ[$mode]=$(printf '%s\n' "${h[@]}" | grep -v timeout | median)
  READYZ[$mode]=$(printf '%s\n' "${r[@]}" | grep -v '^$' | median)
done

cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":1}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
LUA

declare -A RPS P99 ERRS
for mode in off on; do
  endpoint=""; [ "$mode" = on ] && endpoint="http://127.0.0.1:$COLLECTOR_PORT"
  port=$(free_port)
  start_gateway "$port" "$endpoint"
  for _ in $(seq 1 3000); do
    curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$port/v1/status/readyz" | grep -q 200 && break
    sleep 0.01
  done
  # warm-up, then the measured run
  wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -s "$WORK/post.lua" "http://127.0.0.1:$port/v1/chat/completions" >/dev/null 2>&1 || true
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/post.lua" "http://127.0.0.1:$port/v1/chat/completions" 2>&1 || true)
  RPS[$mode]=$(echo "$out" | awk '/Requests\/sec/ {print int($2)}')
  P99[$mode]=$(echo "$out" | awk '$1=="99%" {print $2}')
  ERRS[$mode]=$(echo "$out" | awk '/Non-2xx/ {print $NF}'); ERRS[$mode]=${ERRS[$mode]:-0}
  stop_gateway
done

echo
echo "api-router start-up and tracing cost ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), backend $BACKEND_KIND, $RUNS runs)"
printf '%-34s %12s %12s\n' "tracing" "healthz ms" "ready ms"
printf '%-34s %12s %12s\n' "off" "${HEALTHZ[off]}" "${READYZ[off]}"
printf '%-34s %12s %12s\n' "on (collector answers)" "${HEALTHZ[on]}" "${READYZ[on]}"
printf '%-34s %12s %12s\n' "on (collector hung)" "${HEALTHZ[hung]}" "${READYZ[hung]}"
echo "(median of $RUNS: process start to first healthz 200; 'ready' as the gateway logs it)"
echo
printf '%-34s %12s %12s %10s\n' "throughput (wrk -c$CONNECTIONS $DURATION)" "requests/s" "p99" "non-2xx"
printf '%-34s %12s %12s %10s\n' "tracing off" "${RPS[off]}" "${P99[off]}" "${ERRS[off]}"
printf '%-34s %12s %12s %10s\n' "tracing on" "${RPS[on]}" "${P99[on]}" "${ERRS[on]}"
