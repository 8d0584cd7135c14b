#!/usr/bin/env python3
"""Prints the benchmark table from a results file of key=value lines (bench/out/<run>/results.txt).

usage: report.py RESULTS_FILE       (re-running it on an old run reprints that run's table)
"""
import sys


def load(path):
    r = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                k, v = line.split("=", 1)
                r[k.strip()] = v.strip()
    return r


def num(r, k):
    try:
        return float(r[k])
    except (KeyError, ValueError):
        return None


def fmt_ms(v):
    return "?" if v is None else (f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms")


def mib(kb):
    return "?" if kb is None else f"{kb / 1024:.0f}"


def load_note(r, key):
    v = r.get(key)
    return f" [load {v}]" if v else ""


def verdict(ok):
    return "PASS" if ok else "FAIL"


def main():
    r = load(sys.argv[1])
    rows = []  # (section, what, figure, target, result)
    phases = r.get("phases", "startup rps sse streams").split()

    # 1. requests/s
    if "rps" in phases:
        def wrk_fig(label):
            rps = num(r, f"wrk_{label}_rps")
            if rps is None:
                return None, "no result", 0
            errs = sum(int(num(r, f"wrk_{label}_err_{e}") or 0) for e in ("connect", "read", "write", "status", "timeout"))
            fig = (f"{rps:,.0f} req/s, p50 {fmt_ms(num(r, f'wrk_{label}_p50_us') / 1000)}, "
                   f"p99 {fmt_ms(num(r, f'wrk_{label}_p99_us') / 1000)}")
            cpu = num(r, f"wrk_{label}_cpu_us_per_req")
            if cpu is not None:
                fig += f"; {cpu:.0f} us CPU/req"
            if errs:
                fig += f", {errs} errors"
            return rps, fig, errs
        args = r.get("wrk_args", "")
        res = {}
        for label, what in (("direct", "direct to the backend (nginx, static JSON)"),
                            ("nginx", "through nginx reverse proxy (keepalive 64)"),
                            ("gateway", "through api-router (full pipeline)")):
            out = wrk_fig(label)
            res[label] = out
            rows.append(("1", f"wrk {args}: {what}", out[1], "", "info"))
        g, n = res["gateway"], res["nginx"]
        if g[0] is not None and n[0] is not None:
            ratio = g[0] / n[0]
            rows.append(("1", "api-router / nginx requests/s at 32 connections",
                         f"{ratio:.2f}x{load_note(r, 'rps_load')}", ">= 0.5x",
                         verdict(ratio >= 0.5 and g[2] == 0)))
        else:
            rows.append(("1", "api-router / nginx requests/s at 32 connections", "no result", ">= 0.5x", "FAIL"))
        gc, nc = num(r, "wrk_gateway_cpu_us_per_req"), num(r, "wrk_nginx_cpu_us_per_req")
        if gc and nc:
            rows.append(("1", "(info) CPU time per request, api-router / nginx", f"{gc / nc:.1f}x", "", "info"))
        if r.get("wrk_gateway_threads"):
            rows.append(("1", "(info) api-router threads during its wrk run (% of one core)",
                         f"event loops: {r.get('wrk_gateway_eventloops', '?')}; busiest: {r['wrk_gateway_threads']}",
                         "", "info"))
        sim = wrk_fig("sim")
        rows.append(("1", "(info) vLLM simulator direct, 0 ms/token, 16 tokens", sim[1], "", "info"))

    # 2. SSE delay
    if "sse" in phases:
        gp99 = num(r, "sse_gateway_p99_ms")
        n = r.get("sse_gateway_samples", "?")
        bad = int(num(r, "sse_incomplete_streams") or 0)
        fig = (f"p50 {fmt_ms(num(r, 'sse_gateway_p50_ms'))}, p99 {fmt_ms(gp99)}, max {fmt_ms(num(r, 'sse_gateway_max_ms'))}"
               f" ({n} events, {r.get('sse_gateway_over_2ms', '?')} over 2 ms)")
        if bad:
            fig += f", {bad} incomplete streams"
        fig += load_note(r, "sse_load")
        rows.append(("2", "SSE event: backend write -> client read, via api-router", fig, "p99 <= 2 ms",
                     verdict(gp99 is not None and gp99 <= 2.0 and bad == 0)))
        rows.append(("2", "SSE event: backend write -> client read, direct",
                     f"p50 {fmt_ms(num(r, 'sse_direct_p50_ms'))}, p99 {fmt_ms(num(r, 'sse_direct_p99_ms'))}, "
                     f"max {fmt_ms(num(r, 'sse_direct_max_ms'))}", "", "info"))
        rows.append(("2", "added by api-router (via - direct, per percentile)",
                     f"p50 {fmt_ms(num(r, 'sse_added_p50_ms'))}, p99 {fmt_ms(num(r, 'sse_added_p99_ms'))}", "", "info"))
        if num(r, "sse_paired_samples"):
            rows.append(("2", "added by api-router (same event number, same round: via - direct)",
                         f"p50 {fmt_ms(num(r, 'sse_paired_p50_ms'))}, p99 {fmt_ms(num(r, 'sse_paired_p99_ms'))}",
                         "", "info"))

    # 3. concurrent streams
    if "streams" in phases:
        def stream_fig(label):
            ok = int(num(r, f"{label}_ok_complete") or 0)
            parts = []
            for k, what in (("status_502", "x 502"), ("shed_503", "x 503"), ("ok_broken", "broken"),
                            ("conn_errors", "conn errors"), ("hung", "hung")):
                v = int(num(r, f"{label}_{k}") or 0)
                if v:
                    parts.append(f"{v} {what}")
            other = int(num(r, f"{label}_other_status") or 0) - int(num(r, f"{label}_status_502") or 0)
            if other:
                parts.append(f"{other} other status")
            return ok, parts
        want = int(num(r, "streams_target") or 2000)
        ok, parts = stream_fig("s")
        errs = want - ok
        max_open = int(num(r, "s_max_open_200") or 0)
        sim_max = int(num(r, "s_sim_active_max") or 0)
        fig = (f"{ok}/{want} complete{', ' + ', '.join(parts) if parts else ', no error'}; {max_open} open at once "
               f"(simulator: {sim_max}); first byte p50 {fmt_ms(num(r, 's_ttfb_p50_ms'))}, "
               f"p99 {fmt_ms(num(r, 's_ttfb_p99_ms'))}{load_note(r, 's_load')}")
        rows.append(("3", f"{want} concurrent SSE streams via api-router, {r.get('s_rate')} new/s, "
                          f"{r.get('s_tokens')} tokens x {r.get('token_delay_ms')} ms", fig, f"{want}, no error",
                     verdict(ok == want and errs == 0 and max_open >= want)))
        hwm = num(r, "s_rss_hwm_kb")
        before = num(r, "s_rss_before_kb")
        fig = "?" if hwm is None else (f"{hwm / 1024:.0f} MiB peak (VmHWM); {mib(before)} MiB before the run; "
                                       f"{r.get('s_threads_max', '?')} threads max")
        rows.append(("3", f"api-router RSS with {want} open streams", fig, "< 1024 MiB",
                     verdict(hwm is not None and 0 < hwm < 1024 * 1024)))
        if r.get("s_eventloops"):
            rows.append(("3", f"(info) api-router threads during the {want} streams (% of one core)",
                         f"event loops: {r['s_eventloops']}; busiest: {r.get('s_threads', '?')}", "", "info"))
        if "warm_s_requested" in r:
            ok, parts = stream_fig("warm_s")
            fig = (f"{ok}/{r['warm_s_requested']} complete{', ' + ', '.join(parts) if parts else ', no error'}; "
                   f"first byte p50 {fmt_ms(num(r, 'warm_s_ttfb_p50_ms'))}, p99 {fmt_ms(num(r, 'warm_s_ttfb_p99_ms'))}"
                   f"{load_note(r, 'warm_s_load')}")
            rows.append(("3", f"(info) warm-up of that fresh gateway: {r['warm_s_requested']} short streams, "
                              f"{r.get('s_rate')} new/s", fig, "", "info"))
        if "ctl_requested" in r:
            ok, parts = stream_fig("ctl")
            fig = (f"{ok}/{r['ctl_requested']} complete{', ' + ', '.join(parts) if parts else ', no error'}; "
                   f"{r.get('ctl_max_open_200', '?')} open at once; first byte p50 {fmt_ms(num(r, 'ctl_ttfb_p50_ms'))}, "
                   f"p99 {fmt_ms(num(r, 'ctl_ttfb_p99_ms'))}{load_note(r, 'ctl_load')}")
            rows.append(("3", "(control) the same streams direct to the simulator, no gateway", fig, "", "info"))
        if "burst_requested" in r:
            ok, parts = stream_fig("burst")
            fig = (f"{ok}/{r['burst_requested']} complete{', ' + ', '.join(parts) if parts else ', no error'}; "
                   f"first byte p50 {fmt_ms(num(r, 'burst_ttfb_p50_ms'))}, p99 {fmt_ms(num(r, 'burst_ttfb_p99_ms'))}")
            rows.append(("3", f"(info) the same {r['burst_requested']} streams again, {r.get('burst_rate')} new/s",
                         fig, "", "info"))
        reasons = [r.get(k) for k in ("streams_gateway_502_reasons", "over_gateway_502_reasons") if r.get(k)]
        if reasons:
            rows.append(("3", "(info) causes of the 502s, from the gateways' logs", "; ".join(reasons), "", "info"))
        n = int(num(r, "over_streams") or 5000)
        lim = int(num(r, "over_limit") or 2500)
        ok = int(num(r, "over_ok_complete") or 0)
        shed = int(num(r, "over_shed_503") or 0)
        bad_shed = int(num(r, "over_shed_503_not_overloaded_json") or 0)
        errs = sum(int(num(r, f"over_{k}") or 0) for k in ("ok_broken", "other_status", "conn_errors", "hung"))
        hwm = num(r, "over_rss_hwm_kb")
        fig = (f"{ok} complete, {shed} x 503 overloaded ({bad_shed} without the JSON error), 503 in p50 "
               f"{fmt_ms(num(r, 'over_shed_latency_p50_ms'))} / max {fmt_ms(num(r, 'over_shed_latency_max_ms'))}, "
               f"{errs} other errors or hung; RSS {0 if hwm is None else hwm / 1024:.0f} MiB{load_note(r, 'over_load')}")
        rows.append(("3", f"{n} streams, {r.get('over_rate')} new/s, ROUTER_MAX_CONCURRENT_REQUESTS={lim}", fig,
                     f"{lim} served, rest 503 overloaded, no hang",
                     verdict(ok + shed == n and shed >= n - lim and bad_shed == 0 and errs == 0)))

    # 4. start-up
    if "startup" in phases:
        med = num(r, "startup_median_ms")
        fails = int(num(r, "startup_failures") or 0)
        fig = "no result" if med is None else (f"{med:.0f} ms median of {r.get('startup_runs')} "
                                               f"(min {r.get('startup_min_ms')}, max {r.get('startup_max_ms')})")
        if fails:
            fig += f", {fails} failed starts"
        fig += load_note(r, "startup_load")
        rows.append(("4", "java -jar -> /v1/status/healthz 200", fig, "<= 2000 ms",
                     verdict(med is not None and med <= 2000 and fails == 0)))

    print(f"api-router benchmark, {r.get('date', '?')}, commit {r.get('commit', '?')}")
    print(f"machine: {r.get('cores', '?')} cores ({r.get('cpu', '?')}), {r.get('mem_mib', '?')} MiB; "
          f"{r.get('java', '?')}; nginx {r.get('nginx', '?')}; {r.get('wrk', '?')}")
    print(f"load average at start {r.get('load_start', '?')}, at end {r.get('load_end', '?')}. "
          "Shared machine: other developers' builds and tests ran at the same time; the figures are indicative.")
    print("[load X] = 1-minute load average when that measurement started (above 2, the 2 cores were oversubscribed).")
    print()
    print_table(rows)


def print_table(rows):
    """The rows (#, measure, figure, target, result) as a Markdown table, then the count of PASS and FAIL."""
    headers = ("#", "measure", "figure", "target", "result")
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print(line(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    verdicts = [row[4] for row in rows if row[4] in ("PASS", "FAIL")]
    print()
    print(f"{verdicts.count('PASS')} PASS, {verdicts.count('FAIL')} FAIL")


if __name__ == "__main__":
    main()
