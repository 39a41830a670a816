#!/usr/bin/env python3
"""Memory per live session, and whether it comes back after idle stops.

A wave of new sessions (wrk, one POST of one short message each) starts on
a fresh server, and a second one while the first is still live; the
server's resident set size (VmRSS) is read before, after each wave, after
they went idle and stopped, and after a third wave of the same kind. The
reference is the server's own RSS before the waves, read in the same run.

Prints bytes per live session beyond the message's own bytes, twice: all
the RSS the waves added over the sessions live, and the RSS the second wave
added over the sessions it added. The first figure also counts what
serving a wave leaves in the allocator's free lists (more for a faster
wave); the second, the sessions alone.

  bench/session_memory.py [--seconds 6] [--idle 20]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "http"))
from harness import Motorhead, RedisServer, wait_until  # noqa: E402
from load import wrk_new_sessions  # noqa: E402
import prometheus  # noqa: E402

# The wave's message: '{"role":"Human","content":"hello number N"}', whose
# role and content the session keeps.
MESSAGE_BYTES = len("Human") + len("hello number 12345")


def live_sessions(server):
    return prometheus.value(server.metrics(), "motorhead_sessions_live")


def wave(server, seconds, prefix):
    sessions, failed = wrk_new_sessions(server.port, seconds, prefix)
    if failed:
        print(f"  ({failed} answers were not 2xx)")
    return sessions


def wait_idle(server, idle):
    wait_until(lambda: live_sessions(server) == 0, timeout=idle * 4,
               interval=0.5)
    time.sleep(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=6,
                        help="how long wrk starts new sessions")
    parser.add_argument("--idle", type=int, default=20,
                        help="MOTORHEAD_SESSION_IDLE_SECONDS, at least "
                             "twice --seconds")
    args = parser.parse_args()
    redis = RedisServer(durable=False)
    redis.start()
    server = Motorhead(redis.url, MOTORHEAD_SESSION_IDLE_SECONDS=args.idle)
    server.start()
    try:
        server.post_memory("warm-up", [{"role": "Human", "content": "hi"}])
        wait_idle(server, args.idle)
        before = server.rss_bytes()
        first = wave(server, args.seconds, "first")
        live_first = live_sessions(server)
        during_first = server.rss_bytes()
        first += wave(server, args.seconds, "more")
        live = live_sessions(server)
        during = server.rss_bytes()
        wait_idle(server, args.idle)
        after_idle = server.rss_bytes()
        second = wave(server, args.seconds, "second")
        live_second = live_sessions(server)
        during_second = server.rss_bytes()
    finally:
        server.close()
        redis.remove()
    per_session = (during - before) / live
    added = (during - during_first) / max(1, live - live_first)
    mib = 1024 * 1024
    print(f"first waves: {first} sessions started, {live_first:.0f} live "
          f"after the first, {live:.0f} after the second; third wave: "
          f"{second} started, {live_second:.0f} live")
    print("| moment | RSS | vs before |")
    print("|---|---:|---:|")
    for label, value in [("before the waves", before),
                         ("first wave live", during_first),
                         ("both waves live", during),
                         ("after they all stopped", after_idle),
                         ("third wave live", during_second)]:
        print(f"| {label} | {value / mib:.1f} MiB | "
              f"{(value - before) / mib:+.1f} MiB |")
    print(f"per live session: {per_session:,.0f} B, of which the message "
          f"{MESSAGE_BYTES} B; beyond it {per_session - MESSAGE_BYTES:,.0f} B")
    print(f"per session the second wave added: {added:,.0f} B; beyond the "
          f"message {added - MESSAGE_BYTES:,.0f} B")
    print(f"kept after the idle stops: {(after_idle - before) / mib:.1f} MiB "
          f"({100 * (after_idle - before) / max(1, during - before):.0f} % of "
          f"the wave's)")


if __name__ == "__main__":
    main()
