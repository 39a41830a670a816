#!/usr/bin/env python3
"""Latency of the first GET of a session that is only in Redis (a cold
load: the session actor starts, claims the session and reads it), against
the second GET of the same session (warm), in the same run. Sessions are
posted, the server restarts, and each session is read twice in turn over
one kept-alive connection. Prints p50/p99 of both and their ratio.

  bench/cold_start.py [--sessions 2000] [--messages 12]
"""

import argparse
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "http"))
from harness import Motorhead, RedisServer, turn  # noqa: E402
from load import percentile  # noqa: E402


def timed_get(conn, path):
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    took = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
    return took, json.loads(body)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=12,
                        help="messages per session (the default window)")
    args = parser.parse_args()
    redis = RedisServer(durable=False)
    redis.start()
    server = Motorhead(redis.url)
    server.start()
    try:
        sessions = [f"cold-{i}" for i in range(args.sessions)]
        for session in sessions:
            server.post_memory(session, [turn(i) for i in range(args.messages)])
        server.stop()
        server.start()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        cold, warm = [], []
        for session in sessions:
            path = f"/sessions/{session}/memory"
            took, view = timed_get(conn, path)
            assert len(view["messages"]) == args.messages, view
            cold.append(took)
            warm.append(timed_get(conn, path)[0])
        conn.close()
    finally:
        server.close()
        redis.remove()
    cold.sort()
    warm.sort()
    print(f"{args.sessions} sessions of {args.messages} messages, read after "
          f"a restart over one connection")
    print("| GET | p50 | p99 | max |")
    print("|---|---:|---:|---:|")
    for label, values in [("first (cold: load from Redis)", cold),
                          ("second (warm)", warm)]:
        print(f"| {label} | {percentile(values, 0.5) * 1000:.2f} ms | "
              f"{percentile(values, 0.99) * 1000:.2f} ms | "
              f"{values[-1] * 1000:.2f} ms |")
    print(f"cold / warm: p50 x{percentile(cold, 0.5) / percentile(warm, 0.5):.1f}, "
          f"p99 x{percentile(cold, 0.99) / percentile(warm, 0.99):.1f}")


if __name__ == "__main__":
    main()
