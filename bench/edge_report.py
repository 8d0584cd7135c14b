#!/usr/bin/env python3
"""Prints the edge-attack table from a results file of key=value lines (bench/out/edge-<run>/results.txt).

usage: edge_report.py RESULTS_FILE       (re-running it on an old run reprints that run's table)
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ in bench/ for the import below
from report import load, num, print_table, verdict  # noqa: E402 - the table helpers of bench/report.py


def ms(v):
    if v is None:
        return "?"
    return f"{v:.1f} ms" if v < 1000 else f"{v / 1000:.2f} s"


def i(r, k):
    return int(num(r, k) or 0)


def load_note(r, key):
    v = r.get(key)
    return f" [load {v}]" if v else ""


def victim_rows(r, sec, label, rows):
    n = i(r, f"{label}_victim_requests")
    if not n:
        rows.append((sec, "victim: small chat completions meanwhile", "no result", "0 errors", "FAIL"))
        return
    errs = i(r, f"{label}_victim_errors")
    kinds = r.get(f"{label}_victim_err_summary", "")
    fig = f"{errs} errors of {n}" + (f" ({kinds})" if errs else "")
    rows.append((sec, f"victim: one small chat completion every {r.get('victim_interval_ms', '?')} ms meanwhile "
                      f"(timeout {r.get('victim_timeout_s', '?')} s)", fig, "0 errors", verdict(errs == 0)))
    rows.append((sec, "(info) victim latency during the attack, connect to end of answer",
                 f"p50 {ms(num(r, f'{label}_victim_lat_p50_ms'))}, p99 {ms(num(r, f'{label}_victim_lat_p99_ms'))}, "
                 f"max {ms(num(r, f'{label}_victim_lat_max_ms'))} ({i(r, f'{label}_victim_ok')} ok)"
                 f"{load_note(r, f'{label}_load')}", "", "info"))
    if f"{label}_base_requests" in r:
        b = f"{label}_base"
        errs = i(r, f"{b}_errors")
        rows.append((sec, f"(info) the same victim alone just before, {r.get('baseline_secs', '?')} s (baseline)",
                     f"p50 {ms(num(r, f'{b}_lat_p50_ms'))}, p99 {ms(num(r, f'{b}_lat_p99_ms'))}, "
                     f"max {ms(num(r, f'{b}_lat_max_ms'))}; {errs} errors of {i(r, f'{b}_requests')}"
                     + (f" ({r.get(f'{b}_err_summary', '')})" if errs else ""), "", "info"))


def alive_rows(r, sec, label, rows, target):
    alive = r.get(f"{label}_alive")
    hwm = num(r, f"{label}_rss_hwm_kb")
    fig = "no result" if alive is None else alive
    if alive == "no":
        fig += f" (exit code {r.get(f'{label}_exit_code', '?')}"
        fig += ", OutOfMemoryError in its log" if i(r, f"{label}_oom") else ""
        if r.get(f"{label}_died_after_s"):
            fig += f"; last seen {r[f'{label}_died_after_s']} s into the attack"
        fig += ")"
    rows.append((sec, "gateway alive after the attack (healthz 200)", fig, "alive" if target else "",
                 verdict(alive == "yes") if target else "info"))
    rows.append((sec, "(info) gateway RSS peak (VmHWM)",
                 "?" if hwm is None else f"{hwm / 1024:.0f} MiB (before the attack {i(r, f'{label}_rss_before_kb') / 1024:.0f}"
                 f" MiB; {r.get(f'{label}_threads_max', '?')} threads max)", "", "info"))


def upload_rows(r, sec, label, rows):
    mib = i(r, "upload_bytes") / 1048576
    rows.append((sec, f"(info) attack: {r.get('upload_conns', '?')} connections x up to {r.get('upload_repeat', '?')} "
                      f"uploads of {mib:.0f} MiB, {'valid key' if label == 'auth' else 'no key'}, "
                      f"max {r.get('upload_secs', '?')} s",
                 f"{r.get(f'{label}_uploads', '?')} uploads; answers: {r.get(f'{label}_answer_summary', '?')}; "
                 f"body sent: {r.get(f'{label}_send_summary', '?')}; {r.get(f'{label}_sent_mib', '?')} MiB sent; "
                 f"answer after p50 {ms(num(r, f'{label}_answer_p50_ms'))}, max {ms(num(r, f'{label}_answer_max_ms'))}",
                 "", "info"))


def reap_row(r, sec, label, group, what, rows):
    p = f"{label}_{group}"
    n = i(r, f"{p}_target") or i(r, f"{p}_conns")
    if not n:
        rows.append((sec, what, "no result", "all closed, p99 <= timeout + 2 s", "FAIL"))
        return
    timeout = i(r, f"{p}_timeout_ms")
    closed, on_time, not_closed = i(r, f"{p}_closed"), i(r, f"{p}_closed_on_time"), i(r, f"{p}_not_closed")
    failed, early = i(r, f"{p}_setup_failed"), i(r, f"{p}_closed_early")
    p99 = num(r, f"{p}_close_p99_ms")
    fig = f"{closed}/{n} closed, {on_time} within {ms(timeout + 2000)}"
    if closed:
        fig += (f"; close after p50 {ms(num(r, f'{p}_close_p50_ms'))}, p99 {ms(p99)}, "
                f"max {ms(num(r, f'{p}_close_max_ms'))}")
    if not_closed:
        fig += f"; {not_closed} NOT closed after {ms(timeout + 1000 * (num(r, 'grace_s') or 0))}"
    if early:
        fig += f"; {early} closed before the timeout (min {ms(num(r, f'{p}_close_min_ms'))})"
    if failed:
        fig += f"; {failed} failed to set up ({r.get(f'{p}_setup_summary', '')})"
    if i(r, f"{p}_cut_before_due"):
        fig += f"; {i(r, f'{p}_cut_before_due')} still open, not yet due, when the run's hard deadline cut it"
    if n > i(r, f"{p}_conns"):
        fig += f"; {n - i(r, f'{p}_conns')} never opened (client behind schedule)"
    fig += load_note(r, f"{label}_load")
    ok = on_time == n and p99 is not None and p99 <= timeout + 2000
    rows.append((sec, f"{what} (timeout {ms(timeout)})", fig, "all closed, p99 <= timeout + 2 s", verdict(ok)))


def main():
    r = load(sys.argv[1])
    rows = []  # (section, what, figure, target, result)
    phases = r.get("phases", "upload-noauth upload-auth idle slowloris").split()

    if "upload-noauth" in phases:
        alive_rows(r, "1", "noauth", rows, True)
        upload_rows(r, "1", "noauth", rows)
        victim_rows(r, "1", "noauth", rows)
    if "upload-auth" in phases:
        alive_rows(r, "2", "auth", rows, True)
        upload_rows(r, "2", "auth", rows)
        victim_rows(r, "2", "auth", rows)
    if "idle" in phases:
        n = i(r, "idle_conns")
        reap_row(r, "3", "idle", "silent", f"idle: {i(r, 'idle_silent_target')} connections that send nothing, "
                 f"opened at {r.get('idle_rate', '?')}/s", rows)
        rows.append(("3", "(info) what the silent connections got before the close",
                     r.get("idle_silent_resp_summary", "?"), "408 expected", "info"))
        reap_row(r, "3", "idle", "keepalive",
                 f"idle: {i(r, 'idle_keepalive_target')} connections idle on keep-alive after one "
                 f"{'GET /v1/models' if r.get('idle_request', 'models') == 'models' else 'chat completion'}", rows)
        rows.append(("3", "(info) their one request; what they got after it before the close",
                     f"{r.get('idle_keepalive_request_summary', '?')}; after: "
                     f"{r.get('idle_keepalive_resp_summary', '?')}", "", "info"))
        alive_rows(r, "3", "idle", rows, False)
        if not n:
            rows.append(("3", "idle attack", "no result", "", "FAIL"))
    if "slowloris" in phases:
        iv = r.get("slow_interval_s", "1")
        reap_row(r, "4", "slow", "head", f"slowloris: {i(r, 'slow_head_target')} heads sent one byte / {iv} s", rows)
        rows.append(("4", "(info) what the slow heads got before the close", r.get("slow_head_resp_summary", "?"),
                     "408 expected", "info"))
        reap_row(r, "4", "slow", "body",
                 f"slowloris: {i(r, 'slow_body_target')} bodies (Content-Length 100000) sent one byte / {iv} s", rows)
        rows.append(("4", "(info) what the slow bodies got before the close", r.get("slow_body_resp_summary", "?"),
                     "408 expected", "info"))
        victim_rows(r, "4", "slow", rows)
        alive_rows(r, "4", "slow", rows, False)

    print(f"api-router edge-attack benchmark, {r.get('date', '?')}, commit {r.get('commit', '?')} "
          f"(jar built {r.get('jar_built', '?')})")
    print(f"machine: {r.get('cores', '?')} cores ({r.get('cpu', '?')}), {r.get('mem_mib', '?')} MiB; {r.get('java', '?')}")
    print(f"gateway: java {r.get('java_opts', '?')} -jar, ROUTER_MAX_BODY_BYTES={r.get('max_body_bytes', '?')}"
          + (f", {r['gateway_env']}" if r.get("gateway_env") else "")
          + f"; timeouts header/idle/body {r.get('header_timeout_ms', '?')}/{r.get('idle_timeout_ms', '?')}/"
            f"{r.get('body_timeout_ms', '?')} ms")
    print(f"load average at start {r.get('load_start', '?')}, at end {r.get('load_end', '?')}. "
          "Shared machine: other developers' builds and tests ran at the same time; the figures are indicative.")
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
