"""Multi-process tests: three motorhead nodes and one Redis on loopback
ports held for them, started and stopped by the tests."""

import concurrent.futures
import json
import random
import signal
import threading
import time
import unittest
import uuid

import prometheus
from harness import (Cluster, FakeOpenAI, Motorhead, RedisServer, TestCase,
                     turn, wait_until)


def new_session(tag="c"):
    return f"{tag}-{uuid.uuid4().hex[:12]}"


class WriteLoad:
    """Six writers posting numbered turns to 30 sessions, each POST through
    the node `pick_node(rng)` returns, while the `with` block runs; records
    the acknowledged contents per session and every other answer."""

    def __init__(self, pick_node, writers=6):
        self.sessions = [new_session("w") for _ in range(30)]
        self.acknowledged = {s: [] for s in self.sessions}
        self.other_answers = []
        self._pick_node = pick_node
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._counter = iter(range(10**9))
        self._threads = [threading.Thread(target=self._write, args=(i,),
                                          daemon=True) for i in range(writers)]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _write(self, seed):
        rng = random.Random(seed)
        while not self._stop.is_set():
            session = rng.choice(self.sessions)
            with self._lock:
                n = next(self._counter)
            try:
                status, body, _ = self._pick_node(rng).post_memory(
                    session, [turn(n)])
            except OSError:
                continue
            with self._lock:
                if status == 200:
                    self.acknowledged[session].append(turn(n)["content"])
                else:
                    self.other_answers.append((status, body["error"]))

    def assert_nothing_lost(self, test, redis):
        for session, contents in self.acknowledged.items():
            stored = [json.loads(m)["content"] for m in redis.command(
                "LRANGE", f"motorhead:session:{{{session}}}:messages", 0, -1)]
            missing = set(contents) - set(stored)
            test.assertFalse(missing, f"{session} lost {sorted(missing)[:5]}")


class ClusterTestCase(TestCase):
    env = {"MOTORHEAD_MAX_WINDOW_SIZE": 4}

    def setUp(self):
        self.redis = RedisServer()
        self.redis.start()
        self.cluster = Cluster(self.redis.url, **self.env)
        self.cluster.start()
        self.nodes = self.cluster.nodes

    def tearDown(self):
        self.cluster.close()
        self.redis.remove()


class RoutingTest(ClusterTestCase):

    def test_round_robin_requests_give_single_node_answers(self):
        sessions = [new_session() for _ in range(200)]

        def post(i):
            node = self.nodes[i % 3]
            session = sessions[i % len(sessions)]
            return node.post_memory(session, [turn(i), turn(i + 1)])[0]

        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            self.assertEqual(set(pool.map(post, range(400))), {200})
        owners = {}
        for i, session in enumerate(sessions):
            answers = [node.get_memory(session) for node in self.nodes]
            self.assertEqual(answers[0], answers[1])
            self.assertEqual(answers[1], answers[2])
            # Posts i and i+200 went to this session: newest first, folded
            # down to the window (4) of which the newest two are i+200's.
            self.assertEqual(answers[0]["messages"][:2],
                             [turn(i + 201), turn(i + 200)])
            views = {self.cluster.owner(session, node) for node in self.nodes}
            self.assertEqual(len(views), 1)  # all nodes agree on one owner
            owners.setdefault(views.pop(), []).append(session)
        # Only one actor ever claimed each session: one load each.
        self.assertEqual(sum(
            prometheus.value(node.metrics(), "motorhead_session_loads_total")
            for node in self.nodes), len(sessions))
        self.assertEqual(set(owners), set(self.cluster.names))
        for name, owned in owners.items():
            self.assertGreater(len(owned), 30, name)

    def test_every_route_is_forwarded(self):
        session = new_session()
        owner = self.cluster.owner(session)
        other = next(n for n, name in zip(self.nodes, self.cluster.names)
                     if name != owner)
        ns = "fwd-" + uuid.uuid4().hex[:6]
        forwarded = "motorhead_forwarded_requests_total"
        before = prometheus.value(other.metrics(), forwarded)
        self.assertEqual(other.post_memory(session, [turn(0)], context="c",
                                           namespace=ns)[0], 200)
        metrics = other.metrics()
        self.assertEqual(prometheus.value(metrics, forwarded) - before, 1)
        self.assertEqual(
            prometheus.value(metrics, "motorhead_cluster_members"),
            len(self.nodes))
        self.assertEqual(other.get_memory(session)["messages"], [turn(0)])
        self.assertEqual(other.get_memory(session)["context"], "c")
        for node in self.nodes:
            self.assertEqual(node.request("GET", f"/sessions?namespace={ns}")[1],
                             [session])
            self.assertEqual(node.request("GET", "/readyz")[0], 200)
        status, body, _ = other.request("POST", f"/sessions/{session}/retrieval",
                                        {"text": "x"})
        self.assertEqual(status, 400)
        status, body, _ = other.request(
            "DELETE", f"/sessions/{session}/memory?namespace={ns}")
        self.assertEqual((status, body), (200, {"status": "Ok"}))
        for node in self.nodes:
            self.assertEqual(node.get_memory(session)["messages"], [])
            self.assertEqual(node.request("GET", f"/sessions?namespace={ns}")[1], [])

    def test_cluster_route_validates_the_session(self):
        status, body, _ = self.nodes[0].request("GET", "/cluster?session=a%20b")
        self.assertEqual(status, 400)
        self.assertIn("error", body)


class FailoverTest(ClusterTestCase):
    env = {"MOTORHEAD_MAX_WINDOW_SIZE": 1000,
           "MOTORHEAD_CLUSTER_HEARTBEAT_MS": 200,
           "MOTORHEAD_CLUSTER_FAILURE_MS": 1000,
           "MOTORHEAD_REQUEST_TIMEOUT_MS": 3000}

    def test_sigkill_during_writes_loses_no_acknowledged_message(self):
        victim, survivors = self.nodes[1], [self.nodes[0], self.nodes[2]]
        load = WriteLoad(
            lambda rng: rng.choice(self.nodes if victim.process else survivors))
        with load:
            time.sleep(1.5)
            killed_at = time.monotonic()
            victim.stop(signal.SIGKILL)
            # Time until every session answers through the survivors again.
            recovered = wait_until(lambda: all(
                survivors[0].request("GET", f"/sessions/{s}/memory")[0] == 200
                for s in load.sessions), timeout=15, interval=0.02)
            recovery = time.monotonic() - killed_at
            time.sleep(1.5)
        print(f"\nfailover: all sessions served by the survivors "
              f"{recovery:.2f} s after SIGKILL")
        self.assertTrue(recovered)
        self.assertLess(recovery, 10)
        load.assert_nothing_lost(self, self.redis)
        self.assertGreater(sum(map(len, load.acknowledged.values())), 100)
        for session in load.sessions:
            # Both survivors agree on the owner, and it is a survivor.
            owners = {self.cluster.owner(session, node) for node in survivors}
            self.assertEqual(len(owners), 1)
            self.assertNotIn(self.cluster.names[1], owners)

    def test_sigterm_hands_over_at_once_and_loses_nothing(self):
        victim, survivors = self.nodes[1], [self.nodes[0], self.nodes[2]]
        load = WriteLoad(lambda rng: rng.choice(survivors))
        with load:
            time.sleep(1.5)
            self.assertEqual(victim.stop(signal.SIGTERM), 0)
            time.sleep(1.0)
        # The survivors heard it leave; they did not wait for its silence.
        self.assertIn("leaving the cluster", victim.output())
        for node in survivors:
            self.assertIn(f"{self.cluster.names[1]} left (it is shutting down)",
                          node.output())
        print(f"\nhand-over at SIGTERM: "
              f"{sum(map(len, load.acknowledged.values()))} writes "
              f"acknowledged, other answers: {load.other_answers}")
        # A request the leaving node could not run went to the new owner.
        self.assertEqual(load.other_answers, [])
        load.assert_nothing_lost(self, self.redis)

    def test_a_frozen_node_leaves_and_comes_back(self):
        victim = self.nodes[2]
        session = next(s for s in (new_session("z") for _ in range(1000))
                       if self.cluster.owner(s) == self.cluster.names[2])
        self.assertEqual(self.nodes[0].post_memory(session, [turn(0)])[0], 200)
        victim.process.send_signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:
            self.assertTrue(wait_until(
                lambda: len(self.cluster.members(self.nodes[0])) == 2, timeout=10))
            print(f"\nfrozen node left the membership after "
                  f"{time.monotonic() - frozen_at:.2f} s")
            self.assertEqual(self.nodes[0].post_memory(session, [turn(1)])[0], 200)
        finally:
            victim.process.send_signal(signal.SIGCONT)
        self.assertTrue(wait_until(lambda: all(
            len(self.cluster.members(n)) == 3 for n in self.nodes), timeout=15))
        # It rejoined as a new member, admitted once the others released
        # what moved back to it: until then its sessions' requests wait.
        self.assertTrue(wait_until(lambda: all(
            node.request("GET", f"/sessions/{session}/memory")[0] == 200
            for node in self.nodes), timeout=10),
            [node.output()[-2500:] for node in self.nodes])
        # Its old actor was fenced or retired: the data is whole everywhere.
        for node in self.nodes:
            self.assertEqual(node.get_memory(session)["messages"], [turn(1), turn(0)])

    def test_a_rejoining_node_takes_back_its_share(self):
        sessions = [new_session("r") for _ in range(60)]
        for i, session in enumerate(sessions):
            self.assertEqual(self.nodes[i % 3].post_memory(session, [turn(i)])[0], 200)
        victim = self.nodes[2]
        victim.stop(signal.SIGKILL)
        self.assertTrue(wait_until(
            lambda: len(self.cluster.members(self.nodes[0])) == 2, timeout=10))
        for i, session in enumerate(sessions):  # written while it is away
            self.assertEqual(self.nodes[i % 2].post_memory(session, [turn(i + 100)])[0], 200)
        victim.start()
        self.assertTrue(wait_until(lambda: all(
            len(self.cluster.members(n)) == 3 for n in self.nodes), timeout=15))
        back = [s for s in sessions
                if self.cluster.owner(s) == self.cluster.names[2]]
        self.assertGreater(len(back), 5)
        for i, session in enumerate(sessions):
            for node in self.nodes:
                self.assertEqual(node.get_memory(session)["messages"],
                                 [turn(i + 100), turn(i)])
        # The rejoined node owns its share again: a fresh claim per session.
        for session in back:
            self.assertEqual(self.cluster.owner(session, victim),
                             self.cluster.names[2])


class FrozenOwnerTest(ClusterTestCase):
    """A session's owner frozen (SIGSTOP: its connections stand, nothing
    answers) under requests through the two other nodes, default timings.
    A node may still reach the frozen one when the other gave up on it, and
    relay its requests there: each is given up on once the view declares
    the owner dead, not when the owner comes back (9 s) or the request
    timeout (10 s) runs out."""

    env = {"MOTORHEAD_MAX_WINDOW_SIZE": 10000}
    FROZEN_SECONDS = 9

    def test_requests_for_a_frozen_owner_end_with_the_failover(self):
        answers = []
        for attempt in range(3):
            answers += self.freeze_the_owner_under_requests(attempt)
        # The view drops the owner after the failure timeout (2 s) and its
        # sessions move a lease (2 s) later: a request that waited longer
        # waited for the owner's return or for the request timeout.
        slow = [answer for answer in answers if answer[3] >= 6]
        if slow:
            self.fail(f"{len(slow)} requests waited for the frozen owner "
                      "(method, content, status, seconds, sent after the "
                      f"freeze, HTTP port of the node):\n{slow}\n"
                      + self.node_logs())
        served = [a for a in answers if a[2] == 200]
        print(f"\n{len(answers)} requests, {len(served)} served, slowest "
              f"{max(a[3] for a in answers):.1f} s")

    def node_logs(self):
        return "\n".join(f"--- {name}, HTTP port {node.port}\n"
                         f"{node.output()[-20000:]}"
                         for name, node in zip(self.cluster.names, self.nodes))

    def freeze_the_owner_under_requests(self, attempt):
        """(method, content, status, seconds, seconds after the freeze it
        was sent, HTTP port of the node) of each request sent every 0.25 s
        through each other node while the owner is frozen."""
        session = new_session("f")
        owner = self.nodes[self.cluster.names.index(self.cluster.owner(session))]
        others = [n for n in self.nodes if n is not owner]
        self.assertEqual(others[0].post_memory(session, [turn(0)])[0], 200)
        answers, threads = [], []

        def send(node, method, content):
            began = time.monotonic()
            if method == "POST":
                message = {"role": "Human", "content": content, "id": content}
                status = node.post_memory(session, [message])[0]
            else:
                status = node.request("GET", f"/sessions/{session}/memory")[0]
            answers.append((method, content, status,
                            round(time.monotonic() - began, 2),
                            round(began - frozen_at, 2), node.port))

        owner.process.send_signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:
            n = 0
            while time.monotonic() - frozen_at < self.FROZEN_SECONDS - 1:
                for node in others:
                    n += 1
                    for method in ("POST", "GET"):
                        thread = threading.Thread(
                            target=send, args=(node, method, f"a{attempt}-{n}"))
                        thread.start()
                        threads.append(thread)
                time.sleep(0.25)
            time.sleep(max(0, frozen_at + self.FROZEN_SECONDS - time.monotonic()))
        finally:
            owner.process.send_signal(signal.SIGCONT)
        for thread in threads:
            thread.join()
        def all_three_members():
            return all(len(self.cluster.members(n)) == 3 for n in self.nodes)
        if not wait_until(all_three_members, timeout=20):
            self.fail("the owner frozen for "
                      f"{self.FROZEN_SECONDS} s was not a member of all "
                      "three views 20 s after it came back:\n"
                      + self.node_logs())
        return answers


class SharedProviderTest(TestCase):
    """The provider's rate limit and summarizer capacity across nodes."""

    def start(self, **env):
        self.redis = RedisServer()
        self.redis.start()
        self.fake = FakeOpenAI()
        self.cluster = Cluster(self.redis.url,
                               OPENAI_API_BASE=self.fake.base_url + "/v1",
                               MOTORHEAD_TOKENIZER="cl100k_base",
                               MOTORHEAD_MAX_WINDOW_SIZE=4, **env)
        self.cluster.start()

    def tearDown(self):
        self.cluster.close()
        self.fake.stop()
        self.redis.remove()

    def overflow(self, node, session):
        self.assertEqual(node.post_memory(session, [turn(i) for i in range(6)])[0], 200)

    def test_the_rate_limit_holds_for_the_cluster(self):
        self.start(MOTORHEAD_PROVIDER_RPM=3)
        for i in range(12):
            self.overflow(self.cluster.nodes[i % 3], new_session("rl"))
        time.sleep(3)
        # Three nodes, each with its own limiter, would have made 9 calls.
        self.assertEqual(self.fake.stats()["calls"], 3)

    def test_a_full_node_hands_folds_to_peers_with_room(self):
        self.start(MOTORHEAD_SUMMARIZER_CONCURRENCY=1, MOTORHEAD_SUMMARIZER_QUEUE=1,
                   MOTORHEAD_CLUSTER_HEARTBEAT_MS=100)
        self.fake.control(latency_ms=1500)
        node = self.cluster.nodes[0]
        own = []
        while len(own) < 4:
            session = new_session("h")
            if self.cluster.owner(session) == self.cluster.names[0]:
                own.append(session)
        time.sleep(0.5)  # a few heartbeats: the peers' credits are known
        for session in own:
            self.overflow(node, session)
        # One node alone has one call in flight; with hand-off, three.
        self.assertTrue(wait_until(lambda: self.fake.stats()["max_in_flight"] >= 3,
                                   timeout=5))
        for session in own:
            self.assertTrue(wait_until(
                lambda: node.get_memory(session)["context"] is not None, timeout=20))


if __name__ == "__main__":
    unittest.main()
