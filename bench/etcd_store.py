#!/usr/bin/env python3
"""Helper of bench/etcd-store.sh (issue 3): etcd puts, propagation delays, and the table. Python 3 stdlib only.

usage:
  etcd_store.py seed    --etcd URL --prefix P --backend URL --key KEY
  etcd_store.py changes --etcd URL --prefix P --backend URL --key KEY --gateway URL [--n 100] [--poll-ms 1]
                        [--timeout-s 5] [--dump FILE]
  etcd_store.py revoke  --etcd URL --prefix P --gateway URL [--n 100] [--poll-ms 1] [--timeout-s 5] [--dump FILE]
  etcd_store.py report  RESULTS_FILE

`changes`: for i in 1..n, checks that model bench-<i> is unknown (404), puts <prefix>models/bench-<i> through etcd's
JSON gateway (POST /v3/kv/put on one persistent connection), and from the moment the put's answer has been read
polls the gateway with a chat completion for bench-<i> (one persistent connection, a pause of --poll-ms between
requests) until it is answered 200. `revoke`: for i in 1..n, puts a new key record, polls until that key is served
(200: a key added), then puts it back with "disabled": true and polls until 401. Both print key=value lines.
"""
import argparse
import base64
import hashlib
import http.client
import json
import sys
import time
import urllib.parse


def b64(s):
    return base64.b64encode(s.encode()).decode()


class Conn:
    """One persistent HTTP/1.1 connection, reopened when the peer closes it."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.c = None

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection(self.host, self.port, timeout=5)
                self.c.request(method, path, body=body, headers=headers or {})
                r = self.c.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.c.close()
                    self.c = None
                return r.status, data
            except (ConnectionError, http.client.HTTPException, OSError):
                if self.c is not None:
                    self.c.close()
                self.c = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


class Etcd:
    def __init__(self, url):
        self.conn = Conn(url)

    def put(self, key, value):
        st, data = self.conn.request("POST", "/v3/kv/put", json.dumps({"key": b64(key), "value": b64(value)}),
                                     {"Content-Type": "application/json"})
        if st != 200:
            raise RuntimeError(f"etcd put {key}: HTTP {st}: {data[:200]!r}")
        return int(json.loads(data).get("header", {}).get("revision", 0))


def sha(key):
    return hashlib.sha256(key.encode()).hexdigest()


def model_doc(backend):
    return json.dumps({"backends": [{"url": backend}], "timeouts": {"connectMs": 1000, "firstByteMs": 10000,
                                                                     "idleMs": 10000}})


class Gateway:
    def __init__(self, url):
        self.conn = Conn(url)

    def chat(self, model, key):
        body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4})
        st, _ = self.conn.request("POST", "/v1/chat/completions", body,
                                  {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
        return st

    def poll_until(self, model, key, want, t0_ns, timeout_s, pause_s):
        """Polls until the answer is `want`; returns (delay_ms or None, polls, last status). The delay runs to the
        end of the answer that shows the change, so it includes that one request's own round trip (last_rtt_ms)."""
        polls, st = 0, None
        deadline = t0_ns + int(timeout_s * 1e9)
        while True:
            sent = time.perf_counter_ns()
            st = self.chat(model, key)
            now = time.perf_counter_ns()
            polls += 1
            self.last_rtt_ms = (now - sent) / 1e6
            if st == want:
                return (now - t0_ns) / 1e6, polls, st
            if now > deadline:
                return None, polls, st
            if pause_s > 0:
                time.sleep(pause_s)


def pct(sorted_vals, p):
    """Nearest-rank percentile."""
    if not sorted_vals:
        return None
    k = max(1, -(-len(sorted_vals) * p // 100))
    return sorted_vals[int(k) - 1]


def summary(prefix, delays, n, timeout_s):
    ok = sorted(d for d in delays if d is not None)
    print(f"{prefix}_n={n}")
    print(f"{prefix}_served={len(ok)}")
    print(f"{prefix}_timeouts={n - len(ok)}")
    # a change never served counts as the timeout, so p99/max cannot look better than they are
    full = sorted(d if d is not None else timeout_s * 1000.0 for d in delays)
    if full:
        print(f"{prefix}_p50_ms={pct(full, 50):.3f}")
        print(f"{prefix}_p99_ms={pct(full, 99):.3f}")
        print(f"{prefix}_max_ms={full[-1]:.3f}")
        print(f"{prefix}_min_ms={full[0]:.3f}")


def cmd_seed(a):
    e = Etcd(a.etcd)
    e.put(a.prefix + "models/bench-fast", model_doc(a.backend))
    rev = e.put(a.prefix + "keys/" + sha(a.key), json.dumps({"name": "bench", "models": ["*"]}))
    print(f"seed_revision={rev}")


def cmd_changes(a):
    e, g = Etcd(a.etcd), Gateway(a.gateway)
    doc = model_doc(a.backend)
    pause = a.poll_ms / 1000.0
    delays, put_ms, polls_all, rtts, bad_before = [], [], [], [], 0
    dump = open(a.dump, "w", encoding="utf-8") if a.dump else None
    if dump:
        dump.write("# i put_ms delay_ms polls last_status last_poll_rtt_ms\n")
    for i in range(1, a.n + 1):
        model = f"bench-{a.tag}{i}"
        if g.chat(model, a.key) != 404:
            bad_before += 1
        p0 = time.perf_counter_ns()
        e.put(a.prefix + "models/" + model, doc)
        t0 = time.perf_counter_ns()
        put_ms.append((t0 - p0) / 1e6)
        d, polls, st = g.poll_until(model, a.key, 200, t0, a.timeout_s, pause)
        delays.append(d)
        polls_all.append(polls)
        rtts.append(g.last_rtt_ms)
        if dump:
            dump.write(f"{i} {put_ms[-1]:.3f} {'-' if d is None else f'{d:.3f}'} {polls} {st} {g.last_rtt_ms:.3f}\n")
    if dump:
        dump.close()
    summary("put", delays, a.n, a.timeout_s)
    print(f"put_not_404_before={bad_before}")
    print(f"put_etcd_put_p50_ms={pct(sorted(put_ms), 50):.3f}")
    print(f"put_polls_p50={pct(sorted(polls_all), 50)}")
    print(f"put_served_rtt_p50_ms={pct(sorted(rtts), 50):.3f}")
    print(f"put_served_rtt_max_ms={max(rtts):.3f}")


def cmd_revoke(a):
    e, g = Etcd(a.etcd), Gateway(a.gateway)
    pause = a.poll_ms / 1000.0
    added, revoked, polls_all = [], [], []
    dump = open(a.dump, "w", encoding="utf-8") if a.dump else None
    if dump:
        dump.write("# i add_delay_ms revoke_delay_ms revoke_polls last_status\n")
    for i in range(1, a.n + 1):
        key = f"sk-bench-revoke-{a.tag}{i}"
        path = a.prefix + "keys/" + sha(key)
        e.put(path, json.dumps({"name": "bench-revoke", "models": ["*"]}))
        t0 = time.perf_counter_ns()
        d_add, _, _ = g.poll_until("bench-fast", key, 200, t0, a.timeout_s, pause)
        added.append(d_add)
        e.put(path, json.dumps({"name": "bench-revoke", "models": ["*"], "disabled": True}))
        t1 = time.perf_counter_ns()
        d_rev, polls, st = g.poll_until("bench-fast", key, 401, t1, a.timeout_s, pause)
        revoked.append(d_rev)
        polls_all.append(polls)
        if dump:
            dump.write(f"{i} {'-' if d_add is None else f'{d_add:.3f}'} "
                       f"{'-' if d_rev is None else f'{d_rev:.3f}'} {polls} {st}\n")
    if dump:
        dump.close()
    summary("revoke", revoked, a.n, a.timeout_s)
    summary("keyadd", added, a.n, a.timeout_s)
    print(f"revoke_polls_p50={pct(sorted(polls_all), 50)}")


# ---- report ---------------------------------------------------------------------------------------------------------
def load(path):
    r = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                r[k.strip()] = v.strip()
    return r


def num(r, k):
    try:
        return float(r[k])
    except (KeyError, ValueError):
        return None


def ms(v):
    return "?" if v is None else (f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms")


def cmd_report(a):
    r = load(a.results)
    rows = []
    limit = num(r, "target_ms") or 1000.0

    def delay_rows(prefix, what, target_row):
        n = int(num(r, f"{prefix}_n") or 0)
        if not n:
            rows.append((what, "no result", f"p99 <= {limit:.0f} ms" if target_row else "", "FAIL" if target_row else "info"))
            return
        served, p50, p99, mx = (num(r, f"{prefix}_{k}") for k in ("served", "p50_ms", "p99_ms", "max_ms"))
        load_ = r.get(f"{prefix}_load")
        note = f" [load {load_}]" if load_ else ""
        tail = "" if served == n else f", {n - int(served or 0)} of {n} never (counted as the timeout)"
        rows.append((f"{what}: p50", ms(p50), "", "info"))
        ok = p99 is not None and p99 <= limit and served == n
        rows.append((f"{what}: p99 (n={n}){note}", ms(p99) + tail, f"<= {limit:.0f} ms" if target_row else "",
                     ("PASS" if ok else "FAIL") if target_row else "info"))
        rows.append((f"{what}: max", ms(mx), "", "info"))

    delay_rows("put", "etcd put -> first 200 for the new model", True)
    delay_rows("revoke", "key disabled in etcd -> first 401 (one replica)", True)
    delay_rows("keyadd", "key added in etcd -> first 200", False)
    if num(r, "put_not_404_before"):
        rows.append(("models served before their put (should be 0)", r["put_not_404_before"], "0", "FAIL"))
    extra = []
    if "put_etcd_put_p50_ms" in r:
        extra.append(f"etcd put itself p50 {ms(num(r, 'put_etcd_put_p50_ms'))}")
    if "put_polls_p50" in r:
        extra.append(f"polls per change p50 {r['put_polls_p50']} (every {r.get('poll_ms', '?')} ms)")
    if "put_served_rtt_p50_ms" in r:
        extra.append(f"round trip of the first 200 (included above) p50 {ms(num(r, 'put_served_rtt_p50_ms'))}, "
                     f"max {ms(num(r, 'put_served_rtt_max_ms'))}")
    if extra:
        rows.append(("(put / poll details)", "; ".join(extra), "", "info"))

    def wrk(label):
        rounds = int(num(r, "rounds") or 0)
        vals, errs, cpus, p99s = [], 0, [], []
        for k in range(1, rounds + 1):
            v = num(r, f"wrk_{label}{k}_rps")
            if v is None:
                continue
            vals.append(v)
            errs += sum(int(num(r, f"wrk_{label}{k}_err_{e}") or 0)
                        for e in ("connect", "read", "write", "status", "timeout"))
            c = num(r, f"wrk_{label}{k}_cpu_us_per_req")
            if c is not None:
                cpus.append(c)
            p = num(r, f"wrk_{label}{k}_p99_us")
            if p is not None:
                p99s.append(p / 1000)
        return vals, errs, cpus, p99s

    fv, fe, fc, fp = wrk("file")
    ev, ee, ec, ep = wrk("etcd")

    def rps_fig(vals, errs, cpus, p99s, label):
        if not vals:
            return "no result"
        mean = sum(vals) / len(vals)
        s = f"{mean:,.0f} req/s (runs: {', '.join(f'{v:,.0f}' for v in vals)})"
        if p99s:
            s += f", p99 {ms(max(p99s))}"
        if cpus:
            s += f"; {sum(cpus) / len(cpus):.0f} us CPU/req"
        if errs:
            s += f"; {errs} errors"
        loads = [r.get(f"wrk_{label}{k}_load") for k in range(1, len(vals) + 1)]
        loads = [x for x in loads if x]
        if loads:
            s += f" [load {', '.join(loads)}]"
        return s

    rows.append((f"requests/s, file store ({r.get('wrk_args', '')})", rps_fig(fv, fe, fc, fp, "file"), "", "info"))
    rows.append((f"requests/s, etcd store ({r.get('wrk_args', '')})", rps_fig(ev, ee, ec, ep, "etcd"), "", "info"))
    tol = num(r, "rps_tolerance_pct") or 10.0
    if fv and ev:
        ratio = (sum(ev) / len(ev)) / (sum(fv) / len(fv))
        ok = abs(ratio - 1) * 100 <= tol and fe == 0 and ee == 0
        rows.append(("requests/s etcd / file", f"{ratio:.3f}", f"1 +- {tol:.0f} %", "PASS" if ok else "FAIL"))
        if fc and ec:
            cr = (sum(ec) / len(ec)) / (sum(fc) / len(fc))
            rows.append(("CPU per request etcd / file", f"{cr:.3f}", "", "info"))
    else:
        rows.append(("requests/s etcd / file", "no result", f"1 +- {tol:.0f} %", "FAIL"))

    print(f"load average at start: {r.get('load_start', '?')}; at end: {r.get('load_end', '?')}"
          f"  ({r.get('cores', '?')} cores; {r.get('etcd', '')}; commit {r.get('commit', '?')})")
    print()
    print("| measure | figure | target | result |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("seed", "changes", "revoke"):
        p = sub.add_parser(name)
        p.add_argument("--etcd", required=True)
        p.add_argument("--prefix", default="/api-router/")
        p.add_argument("--backend")
        p.add_argument("--key", default="sk-apirouter-bench")
        p.add_argument("--gateway")
        p.add_argument("--n", type=int, default=100)
        p.add_argument("--poll-ms", type=float, default=1.0)
        p.add_argument("--timeout-s", type=float, default=5.0)
        p.add_argument("--tag", default="", help="distinguishes the names of repeated runs on the same etcd")
        p.add_argument("--dump")
    p = sub.add_parser("report")
    p.add_argument("results")
    a = ap.parse_args()
    if a.cmd in ("changes", "revoke") and not a.gateway:
        ap.error("--gateway is needed")
    if a.cmd in ("seed", "changes") and not a.backend:
        ap.error("--backend is needed")
    {"seed": cmd_seed, "changes": cmd_changes, "revoke": cmd_revoke, "report": cmd_report}[a.cmd](a)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
