#!/usr/bin/env python3
"""Fold throughput against the fake provider with a fixed latency.

Starts redis-server, the fake OpenAI-compatible provider and build/motorhead
on loopback ports held for them; overflows N sessions with one POST each
(one fold per session) and measures how fast the folds complete. The ideal is
concurrency / latency folds per second; the report gives the ratio.

  bench/fold_throughput.py [--sessions 200] [--latency-ms 200] [--concurrency 8]
"""

import argparse
import concurrent.futures
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "http"))
from harness import FakeOpenAI, Motorhead, RedisServer, turn, wait_until  # noqa: E402

WINDOW = 4


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    redis = RedisServer()
    redis.start()
    fake = FakeOpenAI()
    server = Motorhead(redis.url, OPENAI_API_BASE=fake.base_url + "/v1",
                       MOTORHEAD_MAX_WINDOW_SIZE=WINDOW,
                       MOTORHEAD_TOKENIZER="cl100k_base",
                       MOTORHEAD_SUMMARIZER_CONCURRENCY=args.concurrency)
    server.start()
    try:
        fake.control(latency_ms=args.latency_ms)
        sessions = [f"bench-{i}" for i in range(args.sessions)]
        messages = [turn(i) for i in range(WINDOW + 2)]
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda s: server.post_memory(s, messages), sessions))
        done = wait_until(lambda: fake.stats()["calls"] >= args.sessions
                          and fake.stats()["in_flight"] == 0,
                          timeout=600, interval=0.02)
        elapsed = time.monotonic() - started
        if not done:
            sys.exit("the folds did not finish")
        achieved = args.sessions / elapsed
        ideal = args.concurrency / (args.latency_ms / 1000.0)
        stats = fake.stats()
        print(f"folds: {args.sessions}  latency: {args.latency_ms} ms  "
              f"concurrency: {args.concurrency}  max in flight: {stats['max_in_flight']}")
        print(f"achieved {achieved:.1f} folds/s, ideal {ideal:.1f} folds/s, "
              f"ratio {achieved / ideal:.2f}")
    finally:
        server.close()
        fake.stop()
        redis.remove()


if __name__ == "__main__":
    main()
