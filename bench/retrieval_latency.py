#!/usr/bin/env python3
"""Retrieval latency (p50/p99, wrk) for sessions of 100, 1k and 10k
messages, BM25 alone and hybrid (BM25 + embeddings from the fake provider,
whose own latency is then part of each query).

  bench/retrieval_latency.py [--seconds 5] [--sizes 100,1000,10000]
"""

import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "http"))
from harness import FakeOpenAI, Motorhead, RedisServer, wait_until  # noqa: E402

LUA = os.path.join(os.path.dirname(__file__), "lua", "retrieve.lua")


def fill(server, session, count):
    for start in range(0, count, 100):
        messages = [{"role": "Human" if i % 2 == 0 else "AI",
                     "content": f"message {i} about topic{i % 97} and detail{i % 13}"}
                    for i in range(start, min(count, start + 100))]
        status, body, _ = server.request("POST", f"/sessions/{session}/memory",
                                         {"messages": messages})
        assert status == 200, body


def latency(server, target, seconds):
    """wrk -c4 for `seconds` on the retrieval route `target`, rotating
    queries: p50 and p99 as wrk prints them, and requests per second."""
    out = subprocess.run(
        ["wrk", "-t1", "-c4", f"-d{seconds}s", "--latency", "-s", LUA,
         f"http://127.0.0.1:{server.port}"],
        env=dict(os.environ, TARGET=target), capture_output=True, text=True,
        check=True).stdout
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    rps = float(re.search(r"^Requests/sec:\s+(\S+)", out, re.M).group(1))
    return p50, p99, rps


def run(label, sizes, seconds, provider):
    redis = RedisServer()
    redis.start()
    fake = FakeOpenAI() if provider else None
    env = {"MOTORHEAD_LONG_TERM_MEMORY": "true", "MOTORHEAD_MAX_WINDOW_SIZE": 100}
    if fake:
        env.update(OPENAI_API_BASE=fake.base_url + "/v1",
                   MOTORHEAD_TOKENIZER="cl100k_base")
    server = Motorhead(redis.url, **env)
    server.start()
    try:
        for size in sizes:
            session = f"bench-{size}"
            fill(server, session, size)
            if fake:
                key = f"motorhead:session:{{{session}}}:unembedded"
                wait_until(lambda: redis.command("SCARD", key) == 0, timeout=600)
            p50, p99, rps = latency(server, f"/sessions/{session}/retrieval",
                                    seconds)
            print(f"{label:7} {size:>6} messages: p50 {p50:>9}  p99 {p99:>9}  "
                  f"{rps:>9.0f} req/s")
    finally:
        server.close()
        if fake:
            fake.stop()
        redis.remove()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--sizes", default="100,1000,10000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    run("BM25", sizes, args.seconds, provider=False)
    run("hybrid", sizes, args.seconds, provider=True)


if __name__ == "__main__":
    main()
