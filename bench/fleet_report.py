#!/usr/bin/env python3
"""Prints the fleet routing benchmark's tables from its results file (bench/out/fleet-<run>/results.txt).

usage: fleet_report.py RESULTS_FILE       (re-running it on an old run reprints that run's tables)

For each scenario, one row per strategy side by side; then the targets of issue 13 with PASS/FAIL (through
report.print_table): TTFT p99 of the strategy <= 0.5 x weighted's in the same scenario, and the strategy's failed
requests at most 1 % of those it sent (a strategy that fails requests must not pass on the latency of the others;
requests cut at the deadline or by the request timeout are not counted as failed there, since the TTFT figures
include them with the time they had waited).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import load, num, print_table  # noqa: E402

SCENARIOS = {"a": "4 equal backends", "b": "one backend {slow}x slower"}
TARGETS = {"a": ["prefix-affinity"], "b": ["least-load", "prefix-affinity"]}
RATIO = 0.5
MAX_FAILED_SHARE = 0.01


def label(scen, strat):
    return f"{scen}_{strat.replace('-', '_')}"


def ms(v):
    if v is None or v < 0:
        return "?"
    return f"{v / 1000:.2f} s" if v >= 10000 else f"{v:.0f} ms"


def main():
    r = load(sys.argv[1])
    strategies = r.get("strategies", "weighted least-load prefix-affinity").split()
    scenarios = r.get("scenarios", "a b").split()
    slow = r.get("slowness", "4")

    print(f"api-router fleet routing benchmark, {r.get('date', '?')}, commit {r.get('commit', '?')}")
    print(f"machine: {r.get('cores', '?')} cores ({r.get('cpu', '?')}), {r.get('mem_mib', '?')} MiB; {r.get('java', '?')}")
    print(f"load average at start {r.get('load_start', '?')}, at end {r.get('load_end', '?')}. Shared machine: "
          "4 simulators, the gateway and the load generator share its 2 cores with other work; figures are indicative.")
    if r.get("engine") == "1":
        print(f"simulators ({r.get('sim_source', '?')}): {r.get('engine_args', '')} {r.get('sim_args', '')}".rstrip())
    else:
        print("simulators WITHOUT --engine (FLEET_ENGINE=0): no batching, queue or prefix cache; a trial of the script, "
              "not a measurement of routing")
    print(f"workload: {r.get('workload', '?')}; seed {r.get('seed', '?')}; new sessions for {r.get('duration_s', '?')} s "
          f"(+{r.get('grace_s', '?')} s to finish); x-session-id {'sent' if r.get('session_header') == '1' else 'not sent'}")
    cap = num(r, "cal_capacity_req_s")
    if cap is not None:
        print(f"capacity: {cap:.1f} req/s completed in a closed-loop run ({r.get('cal_concurrency', '?')} sessions, "
              f"no think time, {r.get('cal_strategy', '?')}, scenario a, last {r.get('cal_capacity_window_s', '?')} s); "
              f"offered {r.get('load_share', '?')} of it: a {r.get('rate_a_req_s', '?')} req/s, "
              f"b {r.get('rate_b_req_s', '?')} req/s (x (3 + 1/{slow})/4)")
    else:
        print(f"offered load ({r.get('rate_source', '?')}): a {r.get('rate_a_req_s', '?')} req/s, "
              f"b {r.get('rate_b_req_s', '?')} req/s")
    print("TTFT = request sent -> first content token (SSE), through the gateway; e2e = -> data: [DONE]. Requests cut "
          "at the deadline count with the time they had waited (a lower bound, 'cut' column). Prefix-cache hit = "
          "delta hits / delta queries (tokens) over the 4 simulators' /metrics. Per-backend columns: backends 1/2/3/4. "
          "'after warm-up': requests sent after the first seconds only (info; the targets use all requests).")
    print()

    for scen in scenarios:
        title = SCENARIOS[scen].format(slow=slow)
        print(f"Scenario {scen}: {title}")
        print()
        headers = ("strategy", "req/s offered", "TTFT p50", "TTFT p99", "TTFT p99 after warm-up", "e2e p99", "prefix-cache hit",
                   "sent / ok / failed (cut)", "streams per backend", "max waiting per backend", "load")
        rows = []
        shown = strategies + (["static"] if r.get("reference") == "1" else [])
        for strat in shown:
            p = label(scen, strat) + "_"
            if strat == "static":
                strat = "(reference) app i -> backend i mod 4, direct"
            if p + "requests_sent" not in r:
                rows.append((strat, "not run", "", "", "", "", "", "", "", "", ""))
                continue
            hit = num(r, p + "prefix_cache_hit_ratio")
            rows.append((strat, r.get(p + "offered_req_s", "?"), ms(num(r, p + "ttft_p50_ms")),
                         ms(num(r, p + "ttft_p99_ms")),
                         f"{ms(num(r, p + 'ttft_steady_p99_ms'))} (from {r.get(p + 'steady_after_s', '?')} s)",
                         ms(num(r, p + "e2e_p99_ms")),
                         "n/a" if hit is None else f"{hit * 100:.1f} %",
                         f"{r.get(p + 'requests_sent')} / {r.get(p + 'requests_ok')} / {r.get(p + 'requests_failed')}"
                         f" ({r.get(p + 'requests_cut', '0')})",
                         r.get(p + "backend_streams", "?"), r.get(p + "backend_waiting_max", "?"),
                         r.get(p + "load", "?")))
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
        line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
        print(line(headers))
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for row in rows:
            print(line(row))
        print()

    out = []  # (#, measure, figure, target, result)
    for scen in scenarios:
        base = label(scen, "weighted") + "_"
        w99 = num(r, base + "ttft_p99_ms")
        for strat in TARGETS[scen]:
            p = label(scen, strat) + "_"
            what = f"{strat} TTFT p99 / weighted's ({SCENARIOS[scen].format(slow=slow)})"
            target = f"<= {RATIO}x, failed <= {MAX_FAILED_SHARE:.0%}"
            s99 = num(r, p + "ttft_p99_ms")
            if w99 is None or s99 is None or w99 <= 0:
                out.append((scen, what, "not run (both strategies are needed)", target, "skip"))
                continue
            sent = num(r, p + "requests_sent") or 0
            cut = num(r, p + "requests_cut") or 0
            failed = (num(r, p + "requests_failed") or 0) - cut  # cut ones are in the TTFT figures already
            ratio = s99 / w99
            fig = f"{ratio:.2f}x ({ms(s99)} / {ms(w99)}); {failed:.0f} of {sent:.0f} failed"
            if cut:
                fig += f" (+{cut:.0f} cut by the deadline or timeout)"
            ok = ratio <= RATIO and sent > 0 and failed <= MAX_FAILED_SHARE * sent
            out.append((scen, what, fig, target, "PASS" if ok else "FAIL"))
    for scen in scenarios:
        for strat in strategies:
            p = label(scen, strat) + "_"
            extra = []
            if r.get(p + "failures"):
                extra.append("failures " + r[p + "failures"])
            if num(r, p + "gateway_502_logged"):
                extra.append(f"{r[p + 'gateway_502_logged']} 502s in the gateway's log")
            if (num(r, p + "metrics_scrape_failed") or 0) > 0:
                extra.append(f"{r[p + 'metrics_scrape_failed']} backends' /metrics not read")
            lag = num(r, p + "start_lag_max_ms")
            if lag is not None and lag > 200:
                extra.append(f"load generator up to {lag:.0f} ms late starting a session "
                             f"(p99 {r.get(p + 'start_lag_p99_ms', '?')} ms)")
            if extra:
                out.append((scen, f"(info) {strat}", "; ".join(extra), "", "info"))
    if out:
        print_table(out)


if __name__ == "__main__":
    main()
