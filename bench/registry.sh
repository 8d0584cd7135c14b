#!/usr/bin/env bash
# Benchmark of the replica registry and `--wait` (issue 15): 3 gateways on one etcd.
#
#   bench/registry.sh                 about 5-8 minutes on a loaded 2-core machine (a JVM per revocation)
#
# 1. 70 key records are written (no wait), then each revoked with `keys revoke --name ... --wait`: the time from the
#    command's start to its return (a fresh JVM each time, as an operator runs it) and the wait alone (the
#    "within N ms" of its summary line), p50/p99: 50 with bin/api-router-cli on etcd (C1 only, the class-data archive
#    its first run records; target: p99 < 1000 ms), 50 with bin/api-router-cli through gateway 0's admin API
#    (ROUTER_ADMIN_URL, no etcd address; its own archive), then 20 with a plain `java -jar` on etcd for comparison,
#    then 50 disabled with curl through the admin API (`POST /v1/admin/keys/<name>/disable?wait=true`).
# 2. The etcd write rate the registry adds: revisions over 30 s with no change at all (every one is the registry's),
#    and under a burst of 100 model puts (back to back from one process): the revisions added beyond the 100 writes,
#    counted until every replica has applied the last one, plus 2 s for late coalesced updates.
#
# Needs the gateway side of the registry (branch `registry`): without it no replica registers, every --wait says
# "no replica is registered" and the figures mean nothing (the script says so). Ports BENCH_REG_PORT_BASE+1..+5
# (default 19301-19305), output in bench/out/registry-<timestamp>/ (bench/out/registry-latest), etcd's data in a
# temporary directory removed on exit; every process started here is stopped by PID on exit, failure and Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/bench

PORT_BASE=${BENCH_REG_PORT_BASE:-19300}
REVOCATIONS=${BENCH_REVOCATIONS:-50}
PLAIN_REVOCATIONS=${BENCH_PLAIN_REVOCATIONS:-20}
API_REVOCATIONS=${BENCH_API_REVOCATIONS:-50}
ADMIN_CLI_REVOCATIONS=${BENCH_ADMIN_CLI_REVOCATIONS:-50}
ADMIN_TOKEN=bench-registry-admin
BURST=${BENCH_BURST:-100}
IDLE_S=${BENCH_IDLE_S:-30}
TARGET_MS=${BENCH_TARGET_MS:-1000}
P_ETCD=$((PORT_BASE + 1))
P_ETCD_PEER=$((PORT_BASE + 2))
P_GW=($((PORT_BASE + 3)) $((PORT_BASE + 4)) $((PORT_BASE + 5)))
P_MGMT=$((PORT_BASE + 6))   # gateway 0's management port (the admin API); the others pick free ones
PREFIX=/api-router/
JAR=$ROOT/target/api-router.jar
ETCD_URL=http://127.0.0.1:$P_ETCD
export ETCDCTL_API=3

for tool in etcd etcdctl java python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "registry.sh: $tool is needed (etcd: apt-get install -y etcd-server etcd-client)" >&2; exit 2; }
done
if [ ! -f "$JAR" ] || [ -n "$(find src routes pom.xml -newer "$JAR" -print -quit)" ]; then
  echo "registry.sh: building $JAR ..." >&2
  mvn -B -q -o package -DskipTests || mvn -B -q package -DskipTests
fi

ME=registry.sh
# shellcheck source=bench/lib.sh
source "$B/lib.sh"
for p in $P_ETCD $P_ETCD_PEER "${P_GW[@]}" $P_MGMT; do
  if port_in_use "$p"; then echo "registry.sh: port $p is in use; set BENCH_REG_PORT_BASE" >&2; exit 2; fi
done
new_run registry registry-latest
rec_machine
ETCD_DATA=
on_exit() { [ -z "$ETCD_DATA" ] || [ ! -d "$ETCD_DATA" ] || rm -rf -- "$ETCD_DATA"; }

ETCD_DATA=$(mktemp -d /tmp/api-router-bench-registry.XXXXXX)
log "starting etcd on :$P_ETCD"
start_bg etcd etcd --name r --data-dir "$ETCD_DATA" \
  --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
  --listen-peer-urls "http://127.0.0.1:$P_ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$P_ETCD_PEER" \
  --initial-cluster "r=http://127.0.0.1:$P_ETCD_PEER"
PID_ETCD=$LAST_PID
wait_http "$ETCD_URL/health" 200 30 "$PID_ETCD"

MODEL='{"backends":[{"url":"http://127.0.0.1:9"}]}'   # never called: only the policy's arrival matters here
run_fg etcdctl --endpoints "$ETCD_URL" put "${PREFIX}models/bench" "$MODEL" >/dev/null

# the store's current revision (the header of a read)
revision() {
  etcdctl --endpoints "$ETCD_URL" get "${PREFIX}" --prefix --keys-only --limit 1 -w json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])'
}
cli() { ETCD_ENDPOINTS="$ETCD_URL" ROUTER_ETCD_PREFIX="$PREFIX" java -jar "$JAR" "$@"; }
fast_cli() { ETCD_ENDPOINTS="$ETCD_URL" ROUTER_ETCD_PREFIX="$PREFIX" API_ROUTER_JAR="$JAR" \
  API_ROUTER_CDS="$RUN/api-router-cli.jsa" "$ROOT/bin/api-router-cli" "$@"; }
# the launcher through gateway 0's admin API (no etcd address at all), with its own class-data archive
admin_cli() { env -u ETCD_ENDPOINTS ROUTER_ADMIN_URL="http://127.0.0.1:$P_MGMT" ROUTER_ADMIN_TOKEN="$ADMIN_TOKEN" \
  API_ROUTER_JAR="$JAR" API_ROUTER_CDS="$RUN/api-router-cli-admin.jsa" "$ROOT/bin/api-router-cli" "$@"; }
replicas() { cli fleet --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["replicas"]))'; }

for i in 0 1 2; do
  log "starting gateway $i on :${P_GW[$i]}"
  start_bg "gateway-$i" env -u ROUTER_POLICY_FILE -u OTEL_EXPORTER_OTLP_ENDPOINT \
    ETCD_ENDPOINTS="$ETCD_URL" ROUTER_ETCD_PREFIX="$PREFIX" ROUTER_HTTP_PORT="${P_GW[$i]}" ROUTER_HTTP_HOST=127.0.0.1 \
    ROUTER_MANAGEMENT_PORT=$([ "$i" = 0 ] && echo "$P_MGMT" || echo 0) ROUTER_MANAGEMENT_HOST=127.0.0.1 \
    ROUTER_SHUTDOWN_GRACE_MS=2000 ROUTER_ADMIN_TOKEN="$ADMIN_TOKEN" \
    ROUTER_DATA_DIR="$RUN/data/gw-$i" java -jar "$JAR"
  wait_http "http://127.0.0.1:${P_GW[$i]}/v1/status/readyz" 200 90 "$LAST_PID"
done
n=0
for ((t = 0; t < 150; t++)); do n=$(replicas || echo 0); [ "$n" -ge 3 ] && break; sleep 0.2; done
rec replicas_registered "$n"
if [ "$n" -lt 3 ]; then
  log "WARNING: only $n replica(s) registered under ${PREFIX}replicas/ (is the gateway side of the registry merged?); the figures below are meaningless"
fi
cli fleet >"$RUN/fleet-start.txt" 2>&1 || true

# ---- 1. keys revoke --wait ------------------------------------------------------------------------------------
# the keys to revoke: records written as `keys create --models '*'` writes them (the key itself is never needed), all
# in one process: 50 JVM starts of `keys create` would only add minutes of set-up
ALL=$((REVOCATIONS + PLAIN_REVOCATIONS + API_REVOCATIONS + ADMIN_CLI_REVOCATIONS))
log "creating $((ALL + 1)) key records"
python3 - "$ETCD_URL" "$PREFIX" "$((ALL + 1))" >"$RUN/create.out" <<'PY'
import base64, hashlib, json, os, sys, urllib.request
url, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
b64 = lambda s: base64.b64encode(s.encode()).decode()
for i in range(n):
    h = hashlib.sha256(("sk-bench-%d-%s" % (i, os.urandom(8).hex())).encode()).hexdigest()
    body = json.dumps({"key": b64(prefix + "keys/" + h),
                       "value": b64(json.dumps({"name": "bench-%d" % i, "models": ["*"], "disabled": False}))})
    r = json.load(urllib.request.urlopen(urllib.request.Request(url + "/v3/kv/put", body.encode()), timeout=10))
    print("bench-%d keys/%s rev %s" % (i, h, r["header"]["revision"]))
PY
# revoke <command> <first> <count> <label>: each with --wait, timed; figures recorded as <label>_*
revoke() {
  local command=$1 first=$2 count=$3 label=$4 i t0 t1 rc within
  log "revoking $count keys one by one with --wait ($label)"
  : >"$RUN/revoke-times-$label.txt"
  for ((i = first; i < first + count; i++)); do
    t0=$(date +%s%N)
    rc=0
    "$command" keys revoke --name "bench-$i" --wait --wait-timeout 10s >>"$RUN/revoke.out" 2>"$RUN/revoke-$i.err" || rc=$?
    t1=$(date +%s%N)
    within=$(sed -n 's/^confirmed: .* within \([0-9]*\) ms.*/\1/p' "$RUN/revoke-$i.err")
    echo "$(( (t1 - t0) / 1000000 )) ${within:--} $rc" >>"$RUN/revoke-times-$label.txt"
  done
  summarize "$label"
}
summarize() {
  python3 - "$RUN/revoke-times-$1.txt" "$TARGET_MS" "$1" >>"$RES" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
label = sys.argv[3]
total = sorted(int(r[0]) for r in rows)
wait = sorted(int(r[1]) for r in rows if r[1] != "-")
def pct(v, p):
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else -1
print(f"{label}_runs={len(rows)}")
print(f"{label}_failed={sum(1 for r in rows if r[2] != '0')}")
print(f"{label}_confirmed={len(wait)}")
print(f"{label}_total_p50_ms={pct(total, 50)}")
print(f"{label}_total_p99_ms={pct(total, 99)}")
print(f"{label}_wait_only_p50_ms={pct(wait, 50)}")
print(f"{label}_wait_only_p99_ms={pct(wait, 99)}")
print(f"{label}_total_p99_pass={'PASS' if total and pct(total, 99) < int(sys.argv[2]) and len(wait) == len(rows) else 'FAIL'}")
PY
}
# the launcher's first run records its class-data archive: one untimed revocation, of the last record (each mode)
fast_cli keys revoke --name "bench-$ALL" --wait >/dev/null 2>&1 || true
admin_cli keys revoke --name "bench-$ALL" --wait >/dev/null 2>&1 || true
revoke fast_cli 0 "$REVOCATIONS" revoke_cli
revoke admin_cli "$((REVOCATIONS + PLAIN_REVOCATIONS + API_REVOCATIONS))" "$ADMIN_CLI_REVOCATIONS" revoke_cli_admin
revoke cli "$REVOCATIONS" "$PLAIN_REVOCATIONS" revoke_jar
# the same change over HTTP: the admin API's disable with ?wait=true (one curl each, no JVM to start)
api_revoke() {
  local out code ms within
  out=$(curl -s -o "$RUN/api-revoke.json" -w '%{http_code} %{time_total}' -X POST \
    -H "Authorization: Bearer $ADMIN_TOKEN" "http://127.0.0.1:$P_MGMT/v1/admin/keys/$1/disable?wait=true&timeout=10s")
  code=${out% *}
  ms=$(python3 -c "print(round(${out#* } * 1000))")
  within=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])).get("replicas") or []; print(max(x["confirmedMs"] for x in r) if len(r) == 3 else "-")' "$RUN/api-revoke.json" 2>/dev/null || echo -)
  echo "$ms $within $([ "$code" = 200 ] && echo 0 || echo "$code")"
}
log "disabling $API_REVOCATIONS keys one by one with the admin API (?wait=true)"
: >"$RUN/revoke-times-revoke_api.txt"
for ((i = REVOCATIONS + PLAIN_REVOCATIONS; i < REVOCATIONS + PLAIN_REVOCATIONS + API_REVOCATIONS; i++)); do api_revoke "bench-$i" >>"$RUN/revoke-times-revoke_api.txt"; done
summarize revoke_api

# ---- 2. etcd writes the registry adds ----------------------------------------------------------------------------
log "idle: counting revisions over ${IDLE_S}s with no change"
sleep 2
r0=$(revision); sleep "$IDLE_S"; r1=$(revision)
rec idle_revisions "$((r1 - r0))"
rec idle_writes_per_s "$(python3 -c "print(round(($r1 - $r0) / $IDLE_S, 3))")"

log "burst: $BURST model puts back to back (one process, etcd's JSON gateway)"
r0=$(revision); t0=$(date +%s%N)
# the puts, then (bounded, 120 s) until every replica's record reports the last put's revision. The target is the
# revision etcd answered the last put with, not the store's revision read afterwards: registry writes that land after
# the last put move the store's revision, never a replica's applied revision (the policy view's), so waiting for
# the store's revision would never end. One process throughout: etcdctl per put (a fork each) makes a trickle of
# a few puts per second, not a burst, and a `fleet` JVM per poll is seconds late.
python3 - "$ETCD_URL" "$PREFIX" "$BURST" "$MODEL" >"$RUN/burst.out" <<'PY'
import base64, json, sys, time, urllib.request
url, prefix, n, model = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
b64 = lambda s: base64.b64encode(s.encode()).decode()
def call(path, body):
    return json.load(urllib.request.urlopen(urllib.request.Request(url + path, json.dumps(body).encode()), timeout=10))
t0 = time.time()
for i in range(n):
    last = int(call("/v3/kv/put", {"key": b64(prefix + "models/burst-%d" % i), "value": b64(model)})["header"]["revision"])
t1 = time.time()
print("puts_s=%.3f" % (t1 - t0))
print("last_put_revision=%d" % last)
start = prefix + "replicas/"
end = start[:-1] + chr(ord(start[-1]) + 1)
applied = None
while time.time() - t1 < 120:
    kvs = call("/v3/kv/range", {"key": b64(start), "range_end": b64(end)}).get("kvs", [])
    applied = [json.loads(base64.b64decode(kv["value"])).get("appliedRevision") or 0 for kv in kvs]
    if applied and min(applied) >= last:
        break
    time.sleep(0.05)
print("applied_after_s=%.3f" % (time.time() - t1))
print("applied=%s" % applied)
PY
cat "$RUN/burst.out" >&2
rec burst_puts_s "$(sed -n 's/^puts_s=//p' "$RUN/burst.out")"
rec burst_all_applied_after_puts_s "$(sed -n 's/^applied_after_s=//p' "$RUN/burst.out")"
sleep 2
r1=$(revision); t1=$(date +%s%N)
secs=$(python3 -c "print(($t1 - $t0) / 1e9)")
rec burst_window_s "$(python3 -c "print(round($secs, 2))")"
rec burst_revisions_total "$((r1 - r0))"
rec burst_registry_revisions "$((r1 - r0 - BURST))"
idle_rate=$(grep '^idle_writes_per_s=' "$RES" | cut -d= -f2)
rec burst_registry_revisions_beyond_idle "$(python3 -c "print(round($r1 - $r0 - $BURST - $secs * $idle_rate, 1))")"
cli fleet >"$RUN/fleet-end.txt" 2>&1 || true
rec load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
echo
cat "$RES"
