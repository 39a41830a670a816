#!/usr/bin/env python3
"""A million sessions in Redis served through a bounded session cache.

Fills Redis with --sessions sessions of one message each (wrk POSTs to new
sessions through a server whose MOTORHEAD_MAX_SESSIONS is --cache), then
measures GETs at random over all of them (almost every one a cold load
that evicts the least recently used session) and over a hot set half the
size of the cache (served from live actors). Reports requests per second,
p50 and p99, the live session actors and the server's RSS at each step.

  bench/session_cache.py [--sessions 1000000] [--cache 10000] [--seconds 10]
"""

import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "http"))
from harness import Motorhead, RedisServer  # noqa: E402
import prometheus  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(__file__), "lua", "many_sessions.lua")


def wrk(port, seconds, *args):
    """Runs wrk -t2 -c64 with the script; returns (req/s, p50, p99,
    requests, non-2xx answers, empty answers)."""
    out = subprocess.run(
        ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-s", SCRIPT,
         f"http://127.0.0.1:{port}", "--", *map(str, args)],
        check=True, capture_output=True, text=True).stdout

    def find(pattern, default=None):
        match = re.search(pattern, out, re.MULTILINE)
        return match.group(1) if match else default

    return (float(find(r"^Requests/sec:\s+([\d.]+)")),
            find(r"^\s+50%\s+(\S+)"), find(r"^\s+99%\s+(\S+)"),
            int(find(r"(\d+) requests in")),
            int(find(r"Non-2xx or 3xx responses: (\d+)", "0")),
            int(find(r"^empty answers: (\d+)", "0")))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--cache", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    redis = RedisServer(durable=False)
    redis.start()
    server = Motorhead(redis.url, MOTORHEAD_MAX_SESSIONS=args.cache)
    server.start()
    rows = []

    def note(step, measured=None):
        metrics = server.metrics()
        rows.append((step, measured,
                     prometheus.value(metrics, "motorhead_sessions_live"),
                     prometheus.value(metrics, "motorhead_session_evictions_total"),
                     server.rss_bytes() / 2**20))

    try:
        written, rounds = [], 0
        while sum(written) < args.sessions:
            result = wrk(server.port, 15, "post", rounds)
            if result[4]:
                print(f"  ({result[4]} POSTs were not 2xx)")
            written.append(result[3])
            rounds += 1
        note(f"{sum(written):,} sessions written")
        # Round r holds the sessions n < written[r], less the few that one
        # wrk thread did not reach.
        everything = ",".join(str(int(w * 0.99)) for w in written)
        cold = wrk(server.port, args.seconds, "get", everything)
        note("GET at random over all sessions", cold)
        hot_set = ",".join([str(args.cache // 2)] + ["0"] * (rounds - 1))
        wrk(server.port, args.seconds, "get", hot_set)  # loads the hot set
        hot = wrk(server.port, args.seconds, "get", hot_set)
        note(f"GET at random over {args.cache // 2:,} hot sessions", hot)
    finally:
        server.close()
        redis.remove()

    print(f"MOTORHEAD_MAX_SESSIONS={args.cache:,}; wrk -t2 -c64\n")
    print("| step | req/s | p50 | p99 | non-2xx | empty answers "
          "| actors live | evictions so far | RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for step, measured, live, evictions, rss in rows:
        if measured:
            rps, p50, p99, _, failed, empty = measured
            figures = f"{rps:,.0f} | {p50} | {p99} | {failed} | {empty}"
        else:
            figures = " | | | | "
        print(f"| {step} | {figures} | {live:,.0f} | {evictions:,.0f} "
              f"| {rss:.1f} MiB |")


if __name__ == "__main__":
    main()
