#!/usr/bin/env python3
"""Latency of one session's GET while a wave of new sessions starts (wrk,
one POST per new session) and while the whole wave goes idle and stops.
The reference is the same probe on the quiet server, measured in the same
run. Prints p50/p99/max per phase and the p99 ratio to the quiet one.

  bench/idle_wave.py [--seconds 6] [--idle 8] [--cluster]

With --cluster the wave starts on node A of a two-node cluster while node B
is down, so A owns and holds every session; then B comes back and A retires
the half that B owns now. The probe's session is one A keeps.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "http"))
from harness import Cluster, Motorhead, RedisServer, wait_until  # noqa: E402
from load import Probe, percentile, wrk_new_sessions  # noqa: E402


def measure(probe, seconds=None, action=None):
    """Probe results while `action` runs, or for `seconds`."""
    probe.results.clear()
    outcome = action() if action else time.sleep(seconds)
    return list(probe.results), outcome


def report(label, results, reference_p99=None):
    latencies = sorted(seconds for _, seconds in results)
    failed = sum(1 for status, _ in results if status != 200)
    p99 = percentile(latencies, 0.99)
    ratio = f"   p99 x{p99 / reference_p99:.1f} of quiet" if reference_p99 else ""
    print(f"{label:<10} {len(latencies):5d} GETs  {failed:3d} failed   "
          f"p50 {percentile(latencies, 0.5) * 1000:7.1f} ms   "
          f"p99 {p99 * 1000:7.1f} ms   max {latencies[-1] * 1000:7.1f} ms{ratio}")
    return p99


def report_phases(quiet, starting, last_label, last):
    reference = report("quiet", quiet)
    report("starting", starting, reference)
    report(last_label, last, reference)


def start_wave(port, path, seconds):
    """Starts a probe of `path`, measures it on the quiet server, then while
    wrk starts new sessions for `seconds`; returns the running probe, the
    two phases' results and wrk's (sessions, failed)."""
    probe = Probe(port, path, interval=0.01)
    probe.start()
    quiet, _ = measure(probe, seconds=3)
    starting, (sessions, failed) = measure(
        probe, action=lambda: wrk_new_sessions(port, seconds, "wave"))
    return probe, quiet, starting, sessions, failed


def single_node(redis, args):
    server = Motorhead(redis.url, MOTORHEAD_SESSION_IDLE_SECONDS=args.idle)
    server.start()
    try:
        server.post_memory("probe", [{"role": "Human", "content": "hi"}])
        probe, quiet, start, sessions, failed = start_wave(
            server.port, "/sessions/probe/memory", args.seconds)
        print(f"wave: {sessions} new sessions in {args.seconds} s "
              f"({failed} not 2xx); idle timeout {args.idle} s")
        # Every session of the wave stops within the idle time after its
        # last request, plus the check's slack: watch until well after.
        wave, _ = measure(probe, seconds=args.idle + 10)
        probe.stop()
        report_phases(quiet, start, "idle wave", wave)
    finally:
        server.close()


def retiring_cluster(redis, args):
    cluster = Cluster(redis.url, size=2, MOTORHEAD_CLUSTER_FAILURE_MS=2000)
    cluster.start()
    node_a, node_b = cluster.nodes
    try:
        kept = next(f"probe{i}" for i in range(1000)
                    if cluster.owner(f"probe{i}") == cluster.names[0])
        node_b.stop()
        wait_until(lambda: len(cluster.members(node_a)) == 1, timeout=20)
        node_a.post_memory(kept, [{"role": "Human", "content": "hi"}])
        probe, quiet, start, sessions, failed = start_wave(
            node_a.port, f"/sessions/{kept}/memory", args.seconds)
        print(f"wave: {sessions} new sessions on node A in {args.seconds} s "
              f"({failed} not 2xx); node B comes back")
        retiring, _ = measure(probe, action=lambda: (
            node_b.start(),
            wait_until(lambda: len(cluster.members(node_a)) == 2, timeout=20),
            time.sleep(5)))
        probe.stop()
        report_phases(quiet, start, "retiring", retiring)
    finally:
        cluster.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=6,
                        help="how long wrk starts new sessions")
    parser.add_argument("--idle", type=int, default=8,
                        help="MOTORHEAD_SESSION_IDLE_SECONDS")
    parser.add_argument("--cluster", action="store_true",
                        help="a wave retired by a cluster node instead")
    args = parser.parse_args()
    redis = RedisServer(durable=False)
    redis.start()
    try:
        (retiring_cluster if args.cluster else single_node)(redis, args)
    finally:
        redis.remove()


if __name__ == "__main__":
    main()
