#!/usr/bin/env python3
"""Hostile HTTP/1.1 clients for bench/edge.sh (Python 3 stdlib only: asyncio on raw TCP streams).

usage:
  edge_attacks.py victim    --port P --key K --model M --secs S [--interval-ms 20] [--timeout-s 5] --prefix X
  edge_attacks.py upload    --port P [--key K] --model M --conns 40 --bytes 15728640 --secs S [--repeat 3] --prefix X
  edge_attacks.py idle      --port P --key K --model M --conns 5000 --rate 500 --header-timeout-ms T
                            --idle-timeout-ms T --grace-s G [--request models|chat] [--connect-timeout-s 10] --prefix X
  edge_attacks.py slowloris --port P --key K --model M --head-conns 300 --body-conns 300 --rate 200
                            --interval-s 1 --header-timeout-ms T --body-timeout-ms T --grace-s G --prefix X

Every client talks to 127.0.0.1 only (there is no host option). Every loop is bounded by a count and by a deadline
(--secs, or the timeouts + --grace-s); the process ends by itself. Results are printed as key=value lines (every
key starts with the prefix) on stdout; progress goes to stderr.

victim     small non-stream chat completions on a fresh connection each (Connection: close), one every
           --interval-ms (open loop: a slow answer does not delay the next request), each bounded by --timeout-s.
           Records latency (connect to the end of the answer) percentiles and errors by kind.
upload     --conns connections at once, each POSTing a JSON chat request of exactly --bytes bytes (a big string
           field) as fast as the socket takes it, in 256 KiB writes, while reading the answer concurrently: an early
           answer and close are recorded, not errors of the client. Each connection does up to --repeat uploads
           one after the other, until --secs. Records answers by status, closes without an answer, bytes sent.
idle       --conns connections opened at --rate per second; even ones send nothing, odd ones send one small
           request (keep-alive; --request models: GET /v1/models with the key, or chat: a chat completion), read its
           answer, then stay idle (connects bounded by --connect-timeout-s). Records when the server closes each
           (from the connect for the silent ones, from the end of the answer for the keep-alive ones) and any
           bytes it sent before closing (a 408?). Connections still open at timeout + --grace-s are "not closed".
slowloris  --head-conns connections send a request head one byte every --interval-s (never complete);
           --body-conns send a complete head (valid key, Content-Length: 100000) then one body byte every
           body timeout + 1 s (the body timeout is the longest silence between two reads). Records when the server closes each (from the connect / from the end of the head) and
           the answers they got.
"""
import argparse
import asyncio
import collections
import math
import resource
import sys
import time

HOST = "127.0.0.1"  # the only address this tool ever connects to
CONNECT_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 10.0  # the one request of a keep-alive idle connection


def log(msg):
    print(f"[edge_attacks {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(values, p):
    """Nearest-rank percentile of a list (None when empty)."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))]


class Out:
    def __init__(self, prefix):
        self.prefix = prefix
        self.lines = []

    def put(self, key, value):
        if isinstance(value, float):
            value = f"{value:.1f}"
        self.lines.append(f"{self.prefix}_{key}={value}")

    def dist(self, key, values_ms):
        for p in (50, 99):
            v = pct(values_ms, p)
            self.put(f"{key}_p{p}_ms", "" if v is None else float(v))
        self.put(f"{key}_max_ms", "" if not values_ms else float(max(values_ms)))
        self.put(f"{key}_min_ms", "" if not values_ms else float(min(values_ms)))

    def counts(self, key, counter):
        for k, v in sorted(counter.items()):
            self.put(f"{key}_{k}", v)
        self.put(f"{key}_summary", ", ".join(f"{v} x {k}" for k, v in counter.most_common()) or "none")

    def emit(self):
        print("\n".join(self.lines), flush=True)


def status_of(data):
    """The status code of the first response head in data, or None."""
    if data.startswith(b"HTTP/1."):
        parts = data.split(b"\r\n", 1)[0].split(b" ")
        if len(parts) >= 2 and parts[1].isdigit():
            return int(parts[1])
    return None


def response_kind(received):
    st = status_of(received)
    return f"status_{st}" if st else ("none" if not received else "garbage")


def err_kind(e):
    if isinstance(e, asyncio.TimeoutError):
        return "timeout"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, BrokenPipeError):
        return "broken_pipe"
    if isinstance(e, asyncio.IncompleteReadError):
        return "closed"
    if isinstance(e, OSError):
        return f"oserror_{e.errno}"
    return type(e).__name__


def chat_body(model, content="Say hello.", max_tokens=2):
    return (f'{{"model":"{model}","messages":[{{"role":"user","content":"{content}"}}],'
            f'"max_tokens":{max_tokens}}}').encode()


def request(port, body, key=None, close=False, content_length=None):
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body) if content_length is None else content_length}\r\n")
    if key:
        head += f"Authorization: Bearer {key}\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + body


async def connect(port, timeout_s=CONNECT_TIMEOUT_S):
    return await asyncio.wait_for(asyncio.open_connection(HOST, port, limit=1 << 20), timeout_s)


async def read_response(reader):
    """Reads one whole response (Content-Length or chunked); returns (status, raw head)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = status_of(head)
    length, chunked = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, head


def close_writer(writer):
    try:
        writer.transport.abort()
    except Exception:  # noqa: BLE001 - already gone
        pass


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n if hard == resource.RLIM_INFINITY else min(n, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---- victim ---------------------------------------------------------------------------------------------------------
async def victim(a):
    out = Out(a.prefix)
    req = request(a.port, chat_body(a.model), key=a.key, close=True)
    n = max(1, int(a.secs * 1000 / a.interval_ms))
    lat, errors = [], collections.Counter()

    async def one():
        t0 = time.monotonic()
        writer = None
        try:
            async def go():
                nonlocal writer
                reader, writer = await connect(a.port)
                writer.write(req)
                await writer.drain()
                return await reader.read(-1)  # Connection: close: the answer ends at EOF
            data = await asyncio.wait_for(go(), a.timeout_s)
            st = status_of(data)
            if st == 200 and b'"chat.completion"' in data:
                lat.append((time.monotonic() - t0) * 1000)
            else:
                errors[f"status_{st}" if st else "no_answer"] += 1
        except Exception as e:  # noqa: BLE001 - every failure is a figure
            errors[err_kind(e)] += 1
        finally:
            if writer is not None:
                close_writer(writer)

    async def run():
        for i in range(n):
            delay = start + i * a.interval_ms / 1000 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)

    start = time.monotonic()
    tasks = []
    await bounded(out, run(), tasks, a.secs + a.timeout_s + 5)
    unfinished = len(tasks) - len(lat) - sum(errors.values())
    if unfinished:
        errors["cut_by_hard_deadline"] += unfinished
    if n > len(tasks):
        errors["not_sent_in_time"] += n - len(tasks)
    out.put("requests", n)
    out.put("ok", len(lat))
    out.put("errors", sum(errors.values()))
    out.counts("err", errors)
    out.dist("lat", lat)
    out.put("behind_schedule_ms", float(max(0.0, (time.monotonic() - start - a.secs) * 1000)))
    out.emit()


# ---- upload ---------------------------------------------------------------------------------------------------------
async def upload(a):
    out = Out(a.prefix)
    prefix = f'{{"model":"{a.model}","messages":[{{"role":"user","content":"'.encode()
    suffix = b'"}],"max_tokens":1}'
    pad = a.bytes - len(prefix) - len(suffix)
    if pad < 0:
        raise SystemExit("--bytes too small")
    body = memoryview(prefix + b"a" * pad + suffix)
    head = request(a.port, b"", key=a.key, content_length=a.bytes)
    chunk = 256 * 1024
    deadline = time.monotonic() + a.secs
    answers, sends = collections.Counter(), collections.Counter()
    answer_ms, sent_total = [], [0]

    async def read_head(reader):
        try:
            data = await reader.readuntil(b"\r\n\r\n")
            return status_of(data), time.monotonic()
        except Exception:  # noqa: BLE001 - closed or reset before an answer
            return None, time.monotonic()

    async def one():
        t0 = time.monotonic()
        try:
            reader, writer = await connect(a.port)
        except Exception as e:  # noqa: BLE001
            answers[f"connect_{err_kind(e)}"] += 1
            await asyncio.sleep(0.2)  # a refused connect must not spin
            return
        answer = asyncio.create_task(read_head(reader))
        sent = 0
        try:
            writer.write(head)
            await writer.drain()
            while sent < a.bytes and time.monotonic() < deadline and not writer.is_closing():
                writer.write(body[sent:sent + chunk])
                sent = min(a.bytes, sent + chunk)
                await asyncio.wait_for(writer.drain(), max(0.01, deadline - time.monotonic()))
            sends["complete" if sent >= a.bytes else "cut_at_deadline"] += 1
        except asyncio.TimeoutError:
            sends["cut_at_deadline"] += 1
        except Exception:  # noqa: BLE001 - the server closed while we sent (after an early answer, or not)
            sends["stopped_by_server"] += 1
        sent_total[0] += sent
        try:
            status, t1 = await asyncio.wait_for(asyncio.shield(answer), max(0.01, deadline - time.monotonic()))
            if status is None:
                answers["closed_no_answer"] += 1
            else:
                answers[f"status_{status}"] += 1
                answer_ms.append((t1 - t0) * 1000)
        except asyncio.TimeoutError:
            answers["no_answer_at_deadline"] += 1
            answer.cancel()
        close_writer(writer)

    async def worker():
        for _ in range(a.repeat):
            if time.monotonic() >= deadline:
                break
            await one()

    log(f"upload: {a.conns} connections x up to {a.repeat} uploads of {a.bytes} bytes, "
        f"{'with' if a.key else 'without'} a key, at most {a.secs:.0f} s")
    t0 = time.monotonic()
    tasks = []

    async def run():
        tasks.extend(asyncio.create_task(worker()) for _ in range(a.conns))
        await asyncio.gather(*tasks)

    await bounded(out, run(), tasks, a.secs + 5)
    out.put("uploads", sum(sends.values()) + sum(v for k, v in answers.items() if k.startswith("connect_")))
    out.counts("answer", answers)
    out.counts("send", sends)
    out.put("sent_mib", float(sent_total[0] / 1048576))
    out.dist("answer", answer_ms)
    out.put("secs", float(time.monotonic() - t0))
    out.emit()


# ---- close-time bookkeeping shared by idle and slowloris ------------------------------------------------------------
class Group:
    """Connections of one kind: when the server closed each, relative to the timeout that should close it."""

    def __init__(self, name, timeout_ms, grace_s):
        self.name, self.timeout_ms, self.grace_s = name, timeout_ms, grace_s
        self.n = 0                  # connections started
        self.close_ms = []          # closed by the server: time since the timer's start
        self.not_closed = 0         # still open at timeout + grace
        self.open = {}              # being watched: id -> timer start (what is left when the run is cut)
        self.responses = collections.Counter()  # what the server sent before closing
        self.setup_failed = collections.Counter()

    def emit(self, out, target):
        now = time.monotonic()
        # cut by the run's hard deadline: overdue ones are not closed; the others were not watched long enough
        overdue = sum(1 for start, _ in self.open.values() if (now - start) * 1000 > self.timeout_ms + 2000)
        for _, received in self.open.values():  # what the cut ones had received so far
            self.responses[response_kind(received)] += 1
        on_time = sum(1 for v in self.close_ms if v <= self.timeout_ms + 2000)
        lost = self.n - len(self.close_ms) - self.not_closed - len(self.open) - sum(self.setup_failed.values())
        if lost > 0:
            self.setup_failed["cut_while_connecting"] += lost
        out.put(f"{self.name}_target", target)
        out.put(f"{self.name}_conns", self.n)
        out.put(f"{self.name}_timeout_ms", self.timeout_ms)
        out.put(f"{self.name}_closed", len(self.close_ms))
        out.put(f"{self.name}_closed_on_time", on_time)
        out.put(f"{self.name}_closed_early", sum(1 for v in self.close_ms if v < self.timeout_ms - 500))
        out.put(f"{self.name}_not_closed", self.not_closed + overdue)
        out.put(f"{self.name}_cut_before_due", len(self.open) - overdue)
        out.put(f"{self.name}_setup_failed", sum(self.setup_failed.values()))
        out.counts(f"{self.name}_setup", self.setup_failed)
        out.counts(f"{self.name}_resp", self.responses)
        out.dist(f"{self.name}_close", self.close_ms)

    async def watch(self, reader, writer, start, key):
        """Waits until the server closes (or timeout + grace); records it. Returns when done."""
        limit = start + self.timeout_ms / 1000 + self.grace_s
        closed_at = None
        received = b""
        self.open[key] = (start, received)
        try:
            while True:
                left = limit - time.monotonic()
                if left <= 0:
                    break
                data = await asyncio.wait_for(reader.read(65536), left)
                if not data:
                    closed_at = time.monotonic()
                    break
                if len(received) < 4096:
                    received += data
                    self.open[key] = (start, received)
        except asyncio.TimeoutError:
            pass
        except asyncio.CancelledError:
            close_writer(writer)
            raise
        except Exception:  # noqa: BLE001 - reset: closed too
            closed_at = time.monotonic()
        del self.open[key]
        if closed_at is None:
            self.not_closed += 1
        else:
            self.close_ms.append((closed_at - start) * 1000)
        self.responses[response_kind(received)] += 1
        close_writer(writer)


async def ramp(n, rate, make, tasks):
    """Starts make(i) for i < n at rate per second, appending the tasks to tasks; then waits for them all."""
    start = time.monotonic()
    for i in range(n):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(make(i)))
    await asyncio.gather(*tasks)


async def bounded(out, coro, tasks, hard_s):
    """Runs coro for at most hard_s seconds; past that, cancels it and every task in tasks (records hard_deadline_hit)."""
    hit = 0
    try:
        await asyncio.wait_for(coro, hard_s)
    except asyncio.TimeoutError:
        hit = 1
        log(f"hard deadline of {hard_s:.0f} s reached: the rest is cut")
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    out.put("hard_deadline_hit", hit)


# ---- idle -----------------------------------------------------------------------------------------------------------
async def idle(a):
    out = Out(a.prefix)
    out.put("nofile", raise_nofile(a.conns + 1024))
    silent = Group("silent", a.header_timeout_ms, a.grace_s)
    ka = Group("keepalive", a.idle_timeout_ms, a.grace_s)
    if a.request == "chat":
        req = request(a.port, chat_body(a.model, max_tokens=1), key=a.key)
    else:  # GET /v1/models: the key is checked, no backend call
        req = (f"GET /v1/models HTTP/1.1\r\nHost: {HOST}:{a.port}\r\nAuthorization: Bearer {a.key}\r\n\r\n").encode()
    ka_requests = collections.Counter()

    async def one(i):
        g = silent if i % 2 == 0 else ka
        g.n += 1
        try:
            reader, writer = await connect(a.port, a.connect_timeout_s)
        except Exception as e:  # noqa: BLE001
            g.setup_failed[f"connect_{err_kind(e)}"] += 1
            return
        start = time.monotonic()
        if g is ka:
            try:
                writer.write(req)
                await writer.drain()
                status, _ = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT_S)
                ka_requests[f"status_{status}"] += 1
            except asyncio.CancelledError:
                g.setup_failed["request_cut"] += 1
                close_writer(writer)
                raise
            except Exception as e:  # noqa: BLE001
                ka_requests[err_kind(e)] += 1
                g.setup_failed[f"request_{err_kind(e)}"] += 1
                close_writer(writer)
                return
            start = time.monotonic()
        await g.watch(reader, writer, start, i)

    hard = (a.conns / a.rate + max(a.header_timeout_ms, a.idle_timeout_ms) / 1000 + a.grace_s
            + max(REQUEST_TIMEOUT_S, a.connect_timeout_s))
    log(f"idle: {a.conns} connections at {a.rate}/s (half silent, half one {a.request} request then keep-alive idle); "
        f"watching each for timeout + {a.grace_s:.0f} s; at most {hard:.0f} s")
    t0 = time.monotonic()
    tasks = []
    await bounded(out, ramp(a.conns, a.rate, one, tasks), tasks, hard)
    out.put("conns", a.conns)
    silent.emit(out, (a.conns + 1) // 2)
    ka.emit(out, a.conns // 2)
    out.counts("keepalive_request", ka_requests)
    out.put("secs", float(time.monotonic() - t0))
    out.emit()


# ---- slowloris ------------------------------------------------------------------------------------------------------
async def slowloris(a):
    out = Out(a.prefix)
    raise_nofile(a.head_conns + a.body_conns + 1024)
    heads = Group("head", a.header_timeout_ms, a.grace_s)
    bodies = Group("body", a.body_timeout_ms, a.grace_s)
    # a head that never ends: a header value that grows by one byte per interval
    endless_head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {HOST}:{a.port}\r\n"
                    f"Content-Type: application/json\r\nX-Slow: ").encode()
    body_head = request(a.port, b"", key=a.key, content_length=100000)
    body_start = f'{{"model":"{a.model}","messages":[{{"role":"user","content":"'.encode()

    async def dribble(writer, data, watcher, interval_s):
        """One byte every interval until the watcher is done; bounded by len(data) and the watcher's deadline."""
        for k in range(len(data)):
            if watcher.done():
                return
            try:
                writer.write(data[k:k + 1])
                await writer.drain()
            except Exception:  # noqa: BLE001 - closed: the watcher records it
                return
            try:
                await asyncio.wait_for(asyncio.shield(watcher), interval_s)
                return
            except asyncio.TimeoutError:
                pass

    async def one(i):
        g = heads if (i % 2 == 0 and heads.n < a.head_conns) or bodies.n >= a.body_conns else bodies
        g.n += 1
        try:
            reader, writer = await connect(a.port)
        except Exception as e:  # noqa: BLE001
            g.setup_failed[f"connect_{err_kind(e)}"] += 1
            return
        n_bytes = int((g.timeout_ms / 1000 + g.grace_s) / a.interval_s) + 2  # enough to outlast the watch
        if g is heads:
            start = time.monotonic()
            data = endless_head + b"a" * n_bytes
        else:
            try:
                writer.write(body_head)
                await writer.drain()
            except Exception as e:  # noqa: BLE001
                g.setup_failed[f"head_{err_kind(e)}"] += 1
                close_writer(writer)
                return
            start = time.monotonic()
            data = (body_start + b"a" * n_bytes)[:100000 - 1]  # never the whole body
        watcher = asyncio.create_task(g.watch(reader, writer, start, i))
        try:
            # a head dribbles at --interval-s: the header timeout bounds the whole head. A body's timeout is the
            # silence between two reads (as nginx's client_body_timeout): its bytes come just slower than that
            await dribble(writer, data, watcher, a.interval_s if g is heads else a.body_timeout_ms / 1000 + 1)
            await watcher
        except asyncio.CancelledError:
            watcher.cancel()
            raise

    n = a.head_conns + a.body_conns
    hard = n / a.rate + max(a.header_timeout_ms, a.body_timeout_ms) / 1000 + a.grace_s + 5
    log(f"slowloris: {a.head_conns} head + {a.body_conns} body connections at {a.rate}/s, one byte every "
        f"{a.interval_s} s; watching each for timeout + {a.grace_s:.0f} s; at most {hard:.0f} s")
    t0 = time.monotonic()
    tasks = []
    await bounded(out, ramp(n, a.rate, one, tasks), tasks, hard)
    heads.emit(out, a.head_conns)
    bodies.emit(out, a.body_conns)
    out.put("secs", float(time.monotonic() - t0))
    out.emit()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--port", type=int, required=True)
        sp.add_argument("--key", default=None)
        sp.add_argument("--model", default="m")
        sp.add_argument("--prefix", required=True)
        return sp

    v = common(sub.add_parser("victim"))
    v.add_argument("--secs", type=float, required=True)
    v.add_argument("--interval-ms", type=float, default=20)
    v.add_argument("--timeout-s", type=float, default=5)
    u = common(sub.add_parser("upload"))
    u.add_argument("--conns", type=int, default=40)
    u.add_argument("--bytes", type=int, default=15 * 1048576)
    u.add_argument("--secs", type=float, required=True)
    u.add_argument("--repeat", type=int, default=3)
    i = common(sub.add_parser("idle"))
    i.add_argument("--conns", type=int, default=5000)
    i.add_argument("--rate", type=float, default=500)
    i.add_argument("--header-timeout-ms", type=int, required=True)
    i.add_argument("--idle-timeout-ms", type=int, required=True)
    i.add_argument("--grace-s", type=float, default=10)
    i.add_argument("--request", choices=("models", "chat"), default="models")
    i.add_argument("--connect-timeout-s", type=float, default=10)
    s = common(sub.add_parser("slowloris"))
    s.add_argument("--head-conns", type=int, default=300)
    s.add_argument("--body-conns", type=int, default=300)
    s.add_argument("--rate", type=float, default=200)
    s.add_argument("--interval-s", type=float, default=1)
    s.add_argument("--header-timeout-ms", type=int, required=True)
    s.add_argument("--body-timeout-ms", type=int, required=True)
    s.add_argument("--grace-s", type=float, default=10)
    a = p.parse_args()
    asyncio.run({"victim": victim, "upload": upload, "idle": idle, "slowloris": slowloris}[a.cmd](a))


if __name__ == "__main__":
    main()
