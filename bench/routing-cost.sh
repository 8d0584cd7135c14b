#!/usr/bin/env bash
# The routing decision's cost (issue 13): nanoseconds per Router.route call per strategy, 1 and 4 backends, and the
# body parse every request pays. Compiles bench/routing/RoutingCost.java against target/api-router.jar (built when
# missing) and prints a table. About 30 s; one thread; nothing listens.
#
#   bench/routing-cost.sh [ROUNDS]      (default 2,000,000 calls per figure, after as many warm-up calls)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ME=routing-cost.sh
B=$ROOT/bench
source bench/lib.sh
JAR=$ROOT/target/api-router.jar
[ -f "$JAR" ] || mvn -B -q package -DskipTests
new_run routing-cost routing-cost-latest
rec_machine
CLASSES=$RUN/classes
mkdir -p "$CLASSES"
javac -d "$CLASSES" -cp "$JAR" bench/routing/RoutingCost.java
java -Xms256m -Xmx256m -cp "$CLASSES:$JAR" RoutingCost "${1:-2000000}" >>"$RES"
python3 - "$RES" <<'PY'
import sys
sys.path.insert(0, "bench")
from report import print_table
r = dict(l.strip().split("=", 1) for l in open(sys.argv[1]) if "=" in l)
rows = [("1", "InferenceRequest.parse, %s-byte chat body" % r["body_bytes"], "%s ns" % r["parse_ns"], "-", "-")]
for n in ("1", "4"):
    for s in ("weighted", "least_load", "prefix_affinity"):
        v = float(r["route_%s_%s_ns" % (s, n)])
        rows.append((str(len(rows) + 1), "Router.route, %s, %s backend%s" % (s.replace("_", "-"), n, "s" if n == "4" else ""),
                     "%.0f ns" % v, "< 5000 ns", "PASS" if v < 5000 else "FAIL"))
print_table(rows)
PY
