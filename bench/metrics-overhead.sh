#!/usr/bin/env bash
# Issue 5's benchmark: requests/s through the gateway with Prometheus metrics on vs off (target: metrics cost < 5%).
# Same fast backend (nginx serving a static chat completion), same wrk settings; the two configurations alternate
# (on, off, off, on, ...) so that drift of a shared machine hits both. Loopback only, ports 19301-19302; every process
# started here is stopped by PID on exit.
#   bench/metrics-overhead.sh            (about 2 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${BENCH_ROUNDS:-4}
WRK_ARGS=${BENCH_WRK_ARGS:--t2 -c32 -d10s}
WARMUP=${BENCH_WARMUP:-15s}
P_BACKEND=19301
P_GW=19302
KEY=sk-apirouter-bench
for tool in wrk nginx curl; do
  command -v $tool >/dev/null 2>&1 || [ -x /usr/sbin/$tool ] || { echo "missing $tool: apt-get install -y wrk nginx curl" >&2; exit 2; }
done
[ -f target/api-router.jar ] || mvn -B -q package -DskipTests
OUT=$(mktemp -d "${TMPDIR:-/tmp}/api-router-metrics-bench.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$OUT/nginx.pid" ] && kill "$(cat "$OUT/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

cat > "$OUT/nginx.conf" <<NGINX
worker_processes 1;
pid $OUT/nginx.pid;
error_log $OUT/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $OUT; proxy_temp_path $OUT; fastcgi_temp_path $OUT; uwsgi_temp_path $OUT; scgi_temp_path $OUT;
  server { listen 127.0.0.1:$P_BACKEND; location / { default_type application/json;
    return 200 '{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}'; } }
}
NGINX
nginx -c "$OUT/nginx.conf" -p "$OUT" 2>/dev/null
cat > "$OUT/policy.yaml" <<POLICY
models:
  m: { backends: [ { url: "http://127.0.0.1:$P_BACKEND" } ] }
keys:
  "$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)": { name: bench, models: ["*"] }
POLICY
cat > "$OUT/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":1}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
LUA

measure() { # $1 = true|false; prints requests/s
  ROUTER_HTTP_HOST=127.0.0.1 ROUTER_HTTP_PORT=$P_GW ROUTER_POLICY_FILE="$OUT/policy.yaml" ROUTER_METRICS_ENABLED=$1 \
    ROUTER_MANAGEMENT_HOST=127.0.0.1 ROUTER_MANAGEMENT_PORT=0 \
    ROUTER_BACKEND_PROBE_INTERVAL_MS=60000 java -jar target/api-router.jar > "$OUT/gateway-$1.log" 2>&1 &
  local gw=$!
  PIDS+=("$gw")
  for _ in $(seq 1 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_GW/v1/status/readyz")" = 200 ] && break
    sleep 0.1
  done
  wrk -t2 -c32 -d"$WARMUP" -s "$OUT/post.lua" "http://127.0.0.1:$P_GW/v1/chat/completions" > /dev/null
  wrk $WRK_ARGS -s "$OUT/post.lua" "http://127.0.0.1:$P_GW/v1/chat/completions" | awk '/Requests\/sec/ {print $2}'
  kill "$gw"; wait "$gw" 2>/dev/null || true
}

on=(); off=()
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then  # alternate which goes first, so that neither always gets the warmer machine
    on+=("$(measure true)"); off+=("$(measure false)")
  else
    off+=("$(measure false)"); on+=("$(measure true)")
  fi
  echo "round $round: metrics on ${on[-1]} req/s, off ${off[-1]} req/s"
done
python3 - "${on[*]}" "${off[*]}" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import sys, statistics
on = [float(x) for x in sys.argv[1].split()]; off = [float(x) for x in sys.argv[2].split()]
m_on, m_off = statistics.median(on), statistics.median(off)
cost = (m_off - m_on) / m_off * 100
print(f"load average at end: {sys.argv[3]}")
print("| measure | figure | target | result |")
print("|---|---|---|---|")
print(f"| requests/s, metrics on (median of {len(on)}) | {m_on:,.0f} | | info |")
print(f"| requests/s, metrics off (median of {len(off)}) | {m_off:,.0f} | | info |")
print(f"| cost of metrics | {cost:.1f}% | < 5% | {'PASS' if cost < 5 else 'FAIL'} |")
PY
