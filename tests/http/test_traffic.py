"""Real traffic shapes: waves of sessions starting and going idle, and a
shutdown under load."""

import http.client
import signal
import threading
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


class Writer(threading.Thread):
    """POSTs numbered messages to its own session, one connection per
    request, until the server refuses connections; records what each
    request got."""

    def __init__(self, port, session):
        super().__init__(daemon=True)
        self.port, self.session = port, session
        self.acknowledged = []  # contents answered with 200
        self.other_answers = []  # (status, body) of every other answer
        self.broken = []  # requests sent and never answered
        self.refused = False

    def run(self):
        for i in range(100_000):
            content = f"{self.session} message {i}"
            conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                              timeout=30)
            try:
                conn.connect()
            except ConnectionRefusedError:
                self.refused = True
                return
            try:
                conn.request("POST", f"/sessions/{self.session}/memory",
                             body=f'{{"messages":[{{"role":"Human",'
                                  f'"content":"{content}"}}]}}',
                             headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                body = response.read()
                if response.status == 200:
                    self.acknowledged.append(content)
                else:
                    self.other_answers.append((response.status, body))
            except OSError as error:  # reset, broken pipe, no answer
                self.broken.append(repr(error))
                return
            finally:
                conn.close()


class ShutdownTest(unittest.TestCase):
    """SIGTERM drains: no new connections, every request in flight answered
    (its write included), then exit 0."""

    def setUp(self):
        self.redis = RedisServer()
        self.redis.start()
        self.server = Motorhead(self.redis.url)
        self.server.start()

    def tearDown(self):
        self.server.close(signal.SIGKILL)
        self.redis.remove()

    def test_sigterm_under_post_load_answers_every_request_in_flight(self):
        writers = [Writer(self.server.port, f"writer{i}") for i in range(8)]
        for writer in writers:
            writer.start()
        time.sleep(1.5)
        started = time.monotonic()
        self.assertEqual(self.server.stop(signal.SIGTERM), 0,
                         self.server.output()[-2000:])
        self.assertLess(time.monotonic() - started, 10)
        for writer in writers:
            writer.join(timeout=30)
        self.assertEqual([w.broken for w in writers], [[]] * 8)
        self.assertEqual([w.other_answers for w in writers], [[]] * 8)
        self.assertTrue(all(w.refused for w in writers))
        # Each writer's last acknowledged message is its session's newest.
        self.server.start()
        for writer in writers:
            self.assertGreater(len(writer.acknowledged), 0)
            newest = self.server.get_memory(writer.session)["messages"][0]
            self.assertEqual(newest["content"], writer.acknowledged[-1])

    def stall_redis(self, seconds):
        """Blocks Redis for `seconds` from a thread; returns the thread."""
        stall = threading.Thread(
            target=self.redis.command, args=("DEBUG", "SLEEP", seconds))
        stall.start()
        time.sleep(0.1)
        return stall

    def test_a_request_in_flight_on_a_kept_alive_connection_is_answered(self):
        idle = http.client.HTTPConnection("127.0.0.1", self.server.port,
                                          timeout=10)
        idle.request("GET", "/healthz")
        idle.getresponse().read()
        busy = http.client.HTTPConnection("127.0.0.1", self.server.port,
                                          timeout=10)
        stall = self.stall_redis(1)
        answer = {}

        def post():
            busy.request("POST", "/sessions/kept/memory",
                         body='{"messages":[{"role":"Human","content":"hi"}]}',
                         headers={"Content-Type": "application/json"})
            response = busy.getresponse()
            answer.update(status=response.status,
                          connection=response.getheader("Connection"))
            response.read()

        poster = threading.Thread(target=post)
        poster.start()
        time.sleep(0.2)
        self.server.process.send_signal(signal.SIGTERM)
        # The idle connection is closed at once; the busy one is answered.
        idle.sock.settimeout(0.5)
        self.assertEqual(idle.sock.recv(1), b"")
        poster.join(timeout=10)
        stall.join()
        self.assertEqual(answer, {"status": 200, "connection": "close"})
        self.assertEqual(self.server.wait_exit(), 0)

    def test_the_shutdown_timeout_bounds_the_drain(self):
        self.server.close(signal.SIGKILL)
        self.server = Motorhead(self.redis.url,
                                MOTORHEAD_SHUTDOWN_TIMEOUT_MS=1000)
        self.server.start()
        stall = self.stall_redis(4)
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port,
                                          timeout=10)
        conn.request("POST", "/sessions/stuck/memory",
                     body='{"messages":[{"role":"Human","content":"hi"}]}',
                     headers={"Content-Type": "application/json"})
        time.sleep(0.2)
        started = time.monotonic()
        code = self.server.stop(signal.SIGTERM)
        elapsed = time.monotonic() - started
        stall.join()
        self.assertEqual(code, 1, "a drain cut short exits 1")
        self.assertLess(elapsed, 3.0)
        self.assertIn("shutdown timeout", self.server.output())


if __name__ == "__main__":
    unittest.main()
