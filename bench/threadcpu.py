#!/usr/bin/env python3
"""CPU used by each thread of a JVM between two `jcmd <pid> Thread.print` dumps (stdlib only).

usage: threadcpu.py BEFORE AFTER [PREFIX]
Prints PREFIX_threads=... (the busiest threads, as % of one core over the interval; worker threads grouped)
and PREFIX_eventloops=... (every Vert.x event loop thread), as key=value lines for results.txt.
"""
import collections
import re
import sys

LINE = re.compile(r'^"([^"]+)".*?cpu=([0-9.]+)ms elapsed=([0-9.]+)s', re.M)


def load(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return {m.group(1): (float(m.group(2)), float(m.group(3))) for m in LINE.finditer(f.read())}


def main():
    before, after = load(sys.argv[1]), load(sys.argv[2])
    prefix = sys.argv[3] if len(sys.argv) > 3 else "jvm"
    wall_ms = None
    groups = collections.Counter()
    loops = {}
    for name, (cpu, elapsed) in after.items():
        cpu0, elapsed0 = before.get(name, (0.0, None))
        if elapsed0 is not None and wall_ms is None:
            wall_ms = (elapsed - elapsed0) * 1000.0
        key = re.sub(r"worker-thread-\d+", "worker-thread-*", name)
        groups[key] += cpu - cpu0
        if name.startswith("vert.x-eventloop-thread-"):
            loops[name] = cpu - cpu0
    if not wall_ms:
        return
    pct = lambda v: f"{100.0 * v / wall_ms:.0f}%"
    print(f"{prefix}_threads=" + ", ".join(f"{k} {pct(v)}" for k, v in groups.most_common(4)))
    print(f"{prefix}_eventloops=" + ", ".join(f"{k.replace('vert.x-eventloop-thread-', 'loop ')} {pct(v)}"
                                               for k, v in sorted(loops.items())))


if __name__ == "__main__":
    main()
