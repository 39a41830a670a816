"""Real traffic shapes: waves of sessions starting and going idle."""

import time
import unittest

from harness import Cluster, Motorhead, RedisServer, wait_until
from load import Probe, percentile, wrk_new_sessions

IDLE_SECONDS = 3


def probe_summary(probe, sessions):
    latencies = probe.latencies()
    return (f"{sessions} sessions; probe p50 "
            f"{percentile(latencies, 0.5) * 1000:.1f} ms, max "
            f"{latencies[-1] * 1000:.1f} ms over {len(latencies)} GETs")


def assert_no_stall(test, probe, sessions):
    """Every probe answered; none waited behind the wave. The goal is a p99
    under 50 ms; this bound only catches a stall."""
    summary = probe_summary(probe, sessions)
    print(summary)
    test.assertEqual(probe.failures(), [], summary)
    test.assertLess(probe.latencies()[-1], 1.0, summary)


class IdleWaveTest(unittest.TestCase):
    """Thousands of sessions that start within seconds go idle together.
    Each start and stop must cost the registry O(1): with a cost that grows
    with the number of sessions, requests queue behind the wave."""

    def setUp(self):
        self.redis = RedisServer(durable=False)
        self.redis.start()
        self.server = Motorhead(self.redis.url,
                                MOTORHEAD_SESSION_IDLE_SECONDS=IDLE_SECONDS,
                                MOTORHEAD_REQUEST_TIMEOUT_MS=3000)
        self.server.start()

    def tearDown(self):
        self.server.close()
        self.redis.remove()

    def test_sessions_stay_responsive_while_a_wave_starts_and_stops(self):
        self.server.post_memory("probe", [{"role": "Human", "content": "hi"}])
        probe = Probe(self.server.port, "/sessions/probe/memory")
        probe.start()
        try:
            answered, failed = wrk_new_sessions(self.server.port, 5, "wave")
            # The wave's idle checks fire IDLE_SECONDS after its last request.
            time.sleep(IDLE_SECONDS + 4)
        finally:
            probe.stop()
        self.assertGreater(answered, 3000, "the wave was too small to test")
        self.assertEqual(failed, 0)
        assert_no_stall(self, probe, answered)


class RetireWaveTest(unittest.TestCase):
    """A node that sees a peer join retires every session it holds, all in
    one go: the actors that wakes must not queue up behind each other."""

    def setUp(self):
        self.redis = RedisServer(durable=False)
        self.redis.start()
        self.cluster = Cluster(self.redis.url, size=2,
                               MOTORHEAD_REQUEST_TIMEOUT_MS=3000)
        self.cluster.start()

    def tearDown(self):
        self.cluster.close()
        self.redis.remove()

    def test_sessions_stay_responsive_while_a_node_retires_a_wave(self):
        node_a, node_b = self.cluster.nodes
        kept = next(f"probe{i}" for i in range(1000)
                    if self.cluster.owner(f"probe{i}") == self.cluster.names[0])
        node_b.stop()
        self.assertTrue(wait_until(
            lambda: len(self.cluster.members(node_a)) == 1, timeout=20))
        answered, failed = wrk_new_sessions(node_a.port, 5, "wave")
        self.assertGreater(answered, 3000, "the wave was too small to test")
        self.assertEqual(failed, 0)
        node_a.post_memory(kept, [{"role": "Human", "content": "hi"}])
        probe = Probe(node_a.port, f"/sessions/{kept}/memory")
        probe.start()
        try:
            node_b.start()
            self.assertTrue(wait_until(
                lambda: len(self.cluster.members(node_a)) == 2, timeout=20))
            time.sleep(3)
        finally:
            probe.stop()
        assert_no_stall(self, probe, answered)


if __name__ == "__main__":
    unittest.main()
