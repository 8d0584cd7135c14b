#!/usr/bin/env python3
"""Prints the key-limits benchmark's table (bench/limits.sh) from its results file of key=value lines.

usage: limits_report.py RESULTS_FILE       (re-running it on an old run reprints that run's table)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import load, num, print_table  # noqa: E402


def load_note(r, key):
    v = r.get(key)
    return f" [load {v}]" if v else ""


def fint(v):
    return "?" if v is None else f"{v:,.0f}"


def minutes(r, p):
    """The 200s of each minute of the run, a partial last minute marked with *."""
    out, m = [], 1
    while True:
        if f"{p}_ok_min_{m}" in r:
            out.append(r[f"{p}_ok_min_{m}"])
        elif f"{p}_ok_min_{m}_partial" in r:
            out.append(r[f"{p}_ok_min_{m}_partial"] + "*")
        else:
            break
        m += 1
    return " / ".join(out) or "?"


def bad_answers(r, p):
    return int((num(r, f"{p}_other_status") or 0) + (num(r, f"{p}_errors") or 0) + (num(r, f"{p}_unanswered") or 0))


def bad_detail(r, p):
    parts = [f"{k[len(p) + 1:]} {v}" for k, v in sorted(r.items())
             if k.startswith(f"{p}_status_") and not k.endswith("_429") or k.startswith(f"{p}_error_")]
    return f" ({', '.join(parts)})" if parts else ""


def main():
    r = load(sys.argv[1])
    rows = []
    phases = r.get("phases", "shared kill local cost").split()
    rpm = num(r, "rpm") or 600
    rate = r.get("rate", "?")
    dur = r.get("duration_s", "?")

    def open_rows(sec, p, what):
        sent = num(r, f"{p}_sent")
        if sent is None:
            rows.append((sec, what, "no result", "", "FAIL"))
            return False
        rows.append((sec, f"{what}: 200s per minute of the run (* partial)",
                     f"{minutes(r, p)}; {fint(num(r, f'{p}_ok'))} of {fint(sent)} sent, "
                     f"{fint(num(r, f'{p}_status_429'))} x 429, {bad_answers(r, p)} other{bad_detail(r, p)}"
                     f"{load_note(r, f'{p}_load')}", "", "info"))
        rows.append((sec, f"{what}: 200s per clock minute (the limiter's windows; * not whole)",
                     f"{r.get(f'{p}_clock_mins', '?')}", "", "info"))
        rows.append((sec, f"{what}: 200s over the whole run, per minute",
                     f"{num(r, f'{p}_ok_per_min') or 0:,.1f}/min", "", "info"))
        fo = r.get(f"{p}_redis_failovers")
        if p != "local" and fo is not None:
            rows.append((sec, f"{what}: spells of in-process counting (gateways' 'redis unusable' WARNs)",
                         fo + (" (a Redis call missed its deadline: that replica counted alone for a while)"
                               if fo != "0" and p != "kill" else ""), "", "info"))
        lag = num(r, f"{p}_send_late_max_ms")
        if lag is not None and lag > 200:
            rows.append((sec, f"{what}: load generator behind its schedule (max)", f"{lag:,.0f} ms", "", "info"))
        return True

    # 1. shared, Redis
    if "shared" in phases:
        p = "shared"
        what = f"Redis, 3 gateways, rpm {rpm:.0f}, {rate} req/s offered, {dur} s"
        if open_rows("1", p, what):
            whole = int(num(r, f"{p}_clock_whole_after_first") or 0)
            v = num(r, f"{p}_clock_whole_after_first_ok_per_min")
            tgt = f"{rpm * 0.98:.0f}-{rpm * 1.02:.0f}/min (within 2%)"
            if whole and v is not None:
                rows.append(("1", f"Redis: 200s per whole clock minute after the first (mean of {whole})",
                             f"{v:,.1f}/min ({(v / rpm - 1) * 100:+.1f}%)", tgt,
                             "PASS" if abs(v - rpm) <= 0.02 * rpm and bad_answers(r, p) == 0 else "FAIL"))
            else:
                rows.append(("1", "Redis: 200s per whole clock minute after the first",
                             "none in this run (shorter than 2 minutes)", tgt, "skip"))
            s = num(r, f"{p}_steady_ok_per_min")
            if s is not None:
                rows.append(("1", f"(info) Redis: 200s from second {r.get(f'{p}_steady_from_s')} of the run to its end,"
                                  " per minute", f"{s:,.1f}/min ({(s / rpm - 1) * 100:+.1f}%)", "", "info"))

    # 2. in-process
    if "local" in phases:
        p = "local"
        what = f"in-process counters, 3 gateways, rpm {rpm:.0f}, {rate} req/s offered, {dur} s"
        if open_rows("2", p, what):
            v = num(r, f"{p}_clock_whole_after_first_ok_per_min")
            s = num(r, f"{p}_steady_ok_per_min")
            fig = (f"whole clock minutes after the first: {'none' if v is None else f'{v:,.1f}/min'}; from second "
                   f"{r.get(f'{p}_steady_from_s')}: {'?' if s is None else f'{s:,.1f}/min'} "
                   f"(= {0 if s is None else s / rpm:.2f}x the limit); 200s per gateway "
                   f"{r.get(f'{p}_ok_url1', '?')} / {r.get(f'{p}_ok_url2', '?')} / {r.get(f'{p}_ok_url3', '?')}")
            rows.append(("2", "in-process: each replica counts alone (expected ~3x the limit)", fig, "", "info"))

    # 3. Redis killed halfway
    if "kill" in phases:
        p = "kill"
        what = f"Redis SIGKILLed at {r.get(f'{p}_killed_at_s', '?')} s of {dur} s"
        if open_rows("3", p, what):
            warm = r.get("kill_window_warm") == "1"
            b, a = num(r, f"{p}_before_ok_per_min"), num(r, f"{p}_after_ok_per_min")
            rows.append(("3", "200s per minute before the kill / after it",
                         f"{'?' if b is None else f'{b:,.1f}'} / {'?' if a is None else f'{a:,.1f}'} "
                         f"(after: each replica alone; before: "
                         f"{'window carried on from run 1' if warm else 'fresh window: includes the first-minute burst'})",
                         "", "info"))
            bad = bad_answers(r, p)
            rows.append(("3", "answers neither 200 nor 429 (whole run; errors and timeouts included)",
                         f"{bad}{bad_detail(r, p)}; before the kill {int((num(r, f'{p}_before_other_status') or 0) + (num(r, f'{p}_before_errors') or 0))}, "
                         f"after {int((num(r, f'{p}_after_other_status') or 0) + (num(r, f'{p}_after_errors') or 0))}",
                         "0", "PASS" if bad == 0 and num(r, f"{p}_killed_at_s") is not None else "FAIL"))
            warns = [r.get(f"kill_gateway{i}_redis_warnings", "?") for i in (1, 2, 3)]
            ready = [r.get(f"kill_gateway{i}_readyz_after", "?") for i in (1, 2, 3)]
            rows.append(("3", "(info) gateways' WARN lines on Redis / readyz after the run",
                         f"{' / '.join(warns)} / readyz {' '.join(ready)}", "", "info"))

    # 4. cost
    if "cost" in phases:
        tool = r.get("cost_tool", "?")

        def fig(label):
            rps = num(r, f"cost_{label}_rps")
            if rps is None:
                return None, None, "no result", 0
            p99 = num(r, f"cost_{label}_p99_us")
            errs = sum(int(num(r, f"cost_{label}_{k}") or 0) for k in
                       ("err_connect", "err_read", "err_write", "err_status", "err_timeout", "other_status",
                        "status_429", "errors"))
            f = (f"{rps:,.0f} req/s, p50 {(num(r, f'cost_{label}_p50_us') or 0) / 1000:.2f} ms, "
                 f"p99 {(p99 or 0) / 1000:.2f} ms{f', {errs} errors/refusals' if errs else ''}"
                 f"{load_note(r, f'cost_{label}_load')}")
            return rps, p99, f, errs

        for a, b, what in (("free", "huge", "in-process counters"), ("rfree", "rhuge", "Redis counters")):
            if f"cost_{a}_load" not in r:
                continue
            fa, fb = fig(a), fig(b)
            info = what != "in-process counters"
            rows.append(("4", f"{what}: key without limits, {tool}, {r.get('cost_s')} s", fa[2], "", "info"))
            rows.append(("4", f"{what}: key with rpm 100000000 (nothing refused)", fb[2], "", "info"))
            if fa[0] and fb[0]:
                ratio = fb[0] / fa[0]
                ok = ratio >= 0.8 and fa[3] == 0 and fb[3] == 0
                rows.append(("4", f"{'(info) ' if info else ''}{what}: limited / unlimited requests/s",
                             f"{ratio:.2f}x", "" if info else ">= 0.8x", "info" if info else ("PASS" if ok else "FAIL")))
                if fa[1] is not None and fb[1] is not None:
                    rows.append(("4", f"(info) {what}: p99 added by the limit (limited - unlimited)",
                                 f"{(fb[1] - fa[1]) / 1000:+.2f} ms", "", "info"))
            elif not info:
                rows.append(("4", f"{what}: limited / unlimited requests/s", "no result", ">= 0.8x", "FAIL"))

    print(f"api-router key-limits benchmark, {r.get('date', '?')}, commit {r.get('commit', '?')}")
    print(f"machine: {r.get('cores', '?')} cores ({r.get('cpu', '?')}), {r.get('mem_mib', '?')} MiB; "
          f"{r.get('java', '?')}; {r.get('redis', '?')}")
    print(f"load average at start {r.get('load_start', '?')}, at end {r.get('load_end', '?')}. "
          "Shared machine: other work ran at the same time; the figures are indicative.")
    print("[load X] = 1-minute load average when that measurement started (above 2, the 2 cores were oversubscribed).")
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
