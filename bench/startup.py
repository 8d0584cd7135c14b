#!/usr/bin/env python3
"""Time from `java -jar` to /v1/status/healthz answering 200, over several fresh starts (stdlib only).

usage: startup.py JAR PORT STARTS LOGDIR
The gateway's other settings come from the environment (ROUTER_POLICY_FILE, ...). Polls every 10 ms with a raw
HTTP/1.1 GET on a new loopback connection. Each started gateway is stopped (SIGTERM, then SIGKILL after 15 s)
before the next start. Prints key=value lines.
"""
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

POLL_S = 0.010
START_DEADLINE_S = 60.0


def healthz(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"GET /v1/status/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = s.recv(64)
            return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def stop(proc):
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def main():
    # run.sh stops this script with SIGTERM on failure: unwind so the `finally` below stops the gateway too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    jar, port, starts, logdir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    env = dict(os.environ, ROUTER_HTTP_PORT=str(port), ROUTER_HTTP_HOST="127.0.0.1",
               ROUTER_MANAGEMENT_PORT="0", ROUTER_MANAGEMENT_HOST="127.0.0.1")
    times = []
    failures = 0
    for i in range(starts):
        if healthz(port):
            print(f"startup: port {port} already answers; is another gateway running?", file=sys.stderr)
            sys.exit(1)
        with open(os.path.join(logdir, f"startup-{i + 1}.log"), "wb") as log:
            t0 = time.perf_counter()
            proc = subprocess.Popen(["java", "-jar", jar], env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                elapsed = None
                while time.perf_counter() - t0 < START_DEADLINE_S:
                    if proc.poll() is not None:
                        break
                    if healthz(port):
                        elapsed = time.perf_counter() - t0
                        break
                    time.sleep(POLL_S)
                if elapsed is None:
                    failures += 1
                    print(f"startup: start {i + 1} never answered 200 (see {log.name})", file=sys.stderr)
                else:
                    times.append(elapsed * 1000.0)
            finally:
                stop(proc)
    print(f"startup_runs={starts}")
    print(f"startup_failures={failures}")
    if times:
        print(f"startup_median_ms={statistics.median(times):.0f}")
        print(f"startup_min_ms={min(times):.0f}")
        print(f"startup_max_ms={max(times):.0f}")
        print("startup_all_ms=" + ",".join(f"{t:.0f}" for t in times))


if __name__ == "__main__":
    main()
