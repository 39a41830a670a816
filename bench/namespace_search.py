#!/usr/bin/env python3
"""Namespace search latency (p50/p99, wrk) for namespaces of 10, 100 and
1,000 sessions of 100 messages each, BM25 alone, against the reference
measured in the same run: one session holding the same messages, searched
on its own (what the namespace's three steps and fan-out add). Also the
first search of each namespace, which loads every session's index.

  bench/namespace_search.py [--seconds 5] [--sessions 10,100,1000]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "http"))
from harness import Motorhead, RedisServer  # noqa: E402
from retrieval_latency import latency  # noqa: E402

MESSAGES_PER_SESSION = 100


def messages(session_index):
    return [{"role": "Human" if i % 2 == 0 else "AI",
             "content": f"message {i} of {session_index} about topic{(i * 7 + session_index) % 97} "
                        f"and detail{i % 13}"}
            for i in range(MESSAGES_PER_SESSION)]


def post(server, path, body):
    status, answer, _ = server.request("POST", path, body)
    assert status == 200, answer
    return answer


def fill(server, namespace, count):
    """The namespace's sessions, and one session holding all their messages."""
    union = f"{namespace}-all"
    for s in range(count):
        batch = messages(s)
        post(server, f"/sessions/{namespace}-{s}/memory?namespace={namespace}",
             {"messages": batch})
        post(server, f"/sessions/{union}/memory", {"messages": batch})
    return union


def first_search_ms(server, target):
    start = time.perf_counter()
    post(server, target, {"text": "topic7 message", "top_k": 10})
    return (time.perf_counter() - start) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--sessions", default="10,100,1000")
    args = parser.parse_args()
    redis = RedisServer()
    redis.start()
    server = Motorhead(redis.url, MOTORHEAD_LONG_TERM_MEMORY="true",
                       MOTORHEAD_MAX_WINDOW_SIZE=100,
                       MOTORHEAD_REQUEST_TIMEOUT_MS=60000)
    server.start()
    try:
        for count in [int(n) for n in args.sessions.split(",")]:
            namespace = f"bench{count}"
            union = fill(server, namespace, count)
            across = f"/namespaces/{namespace}/retrieval"
            alone = f"/sessions/{union}/retrieval"
            cold = first_search_ms(server, across)
            first_search_ms(server, alone)
            n50, n99, nrps = latency(server, across, args.seconds)
            u50, u99, urps = latency(server, alone, args.seconds)
            print(f"{count:>5} sessions x {MESSAGES_PER_SESSION}: namespace "
                  f"p50 {n50:>8} p99 {n99:>8} {nrps:>8.0f} req/s | one session "
                  f"of them all p50 {u50:>8} p99 {u99:>8} {urps:>8.0f} req/s | "
                  f"throughput ratio {nrps / urps:.2f} | first search "
                  f"{cold:.0f} ms")
    finally:
        server.close()
        redis.remove()


if __name__ == "__main__":
    main()
