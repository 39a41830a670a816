"""Partitions, as a real network makes them: three nodes and a Redis, each
on a host of its own (netns.py), cut from one another by blackhole routes
(packets vanish: no reset, connections hang), with writers and readers
going through every node the whole time. Every GET is checked against the
writes acknowledged before it began; at the end every acknowledged message
must be stored exactly once. The nodes run with the default timings.

Needs root (network namespaces); scripts/test runs it on the release build
only."""

import threading
import time
import uuid

import netns
from harness import Motorhead, RedisServer, TestCase, module_scope, wait_until

NODES = ("n1", "n2", "n3")
network = None


def setUpModule():
    global network
    if not netns.available():
        raise RuntimeError("the partition tests need root and `ip netns`")
    network = netns.Network(["client", "redis", *NODES])
    # The test reaches every host from a host of its own, never cut.
    network.enter("client")
    with module_scope() as scope:
        scope.add(network.remove)


def cluster_view(node):
    return node.request("GET", "/cluster", headers=node.operator_headers())[1]


def sees_all(node, count):
    try:
        return len(cluster_view(node).get("members", [])) == count
    except OSError:
        return False


class Traffic:
    """Writers and readers through every node, by phase: whether each
    request was served (2xx within 5 s), which GETs missed a write
    acknowledged before they began, and what was acknowledged."""

    SESSIONS = 60
    WRITERS = 3
    READERS = 3

    def __init__(self, nodes):
        self.nodes = nodes
        self.sessions = [f"p-{uuid.uuid4().hex[:10]}" for _ in range(self.SESSIONS)]
        self.lock = threading.Lock()
        self.phase = "start"
        # Per session: contents whose POST was acknowledged, in order.
        self.acknowledged = {s: [] for s in self.sessions}
        self.answers = []  # (phase, index of the node entered, served)
        self.stale = []
        self.stopping = threading.Event()
        self.threads = (
            [threading.Thread(target=self.write, args=(i,))
             for i in range(self.WRITERS)]
            + [threading.Thread(target=self.read, args=(i,))
               for i in range(self.READERS)])

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join()

    def set_phase(self, phase):
        with self.lock:
            self.phase = phase

    def record(self, phase, entered, status, seconds):
        with self.lock:
            self.answers.append(
                (phase, entered, 200 <= status < 300 and seconds < 5))

    def write(self, worker):
        n = worker * 10**6
        while not self.stopping.is_set():
            n += 1
            session = self.sessions[n % self.SESSIONS]
            entered = n % len(self.nodes)
            with self.lock:
                phase = self.phase
            content = f"w{n}"
            began = time.monotonic()
            try:
                status = self.nodes[entered].post_memory(
                    session, [{"role": "Human", "content": content}])[0]
            except OSError:
                status = 0
            self.record(phase, entered, status, time.monotonic() - began)
            if status == 200:
                with self.lock:
                    self.acknowledged[session].append(content)

    def read(self, worker):
        n = worker * 10**6
        while not self.stopping.is_set():
            n += 1
            session = self.sessions[(n * 7) % self.SESSIONS]
            entered = (n // 3) % len(self.nodes)
            with self.lock:
                phase = self.phase
                before = list(self.acknowledged[session])
            began = time.monotonic()
            try:
                status, body, _ = self.nodes[entered].request(
                    "GET", f"/sessions/{session}/memory")
            except OSError:
                status, body = 0, {}
            self.record(phase, entered, status, time.monotonic() - began)
            if status != 200:
                continue
            seen = {m["content"] for m in body["messages"]}
            missing = [c for c in before if c not in seen]
            if missing:
                with self.lock:
                    self.stale.append((phase, NODES[entered], session,
                                       missing[:3]))

    def served(self, phase, entering=None):
        """The share of the phase's requests served, and their count; only
        those entering the nodes numbered `entering`, if given."""
        with self.lock:
            answers = [ok for p, entered, ok in self.answers
                       if p == phase and (entering is None or entered in entering)]
        return sum(answers) / max(1, len(answers)), len(answers)

    def lost_or_doubled(self, reader):
        """Acknowledged messages not stored, and messages stored twice,
        read through `reader` once the traffic stopped."""
        lost, doubled = [], []
        for session in self.sessions:
            stored = [m["content"]
                      for m in reader.get_memory(session)["messages"]]
            doubled += [c for c in set(stored) if stored.count(c) > 1]
            lost += [c for c in self.acknowledged[session] if c not in stored]
        return lost, doubled


class PartitionTest(TestCase):
    """One scenario a test: the cluster forms, traffic runs for 3 s, the
    fault lasts 10 s, the network heals, every node must see every member
    within 10 s, then 10 s more of traffic."""

    FAULT_SECONDS = 10

    def setUp(self):
        self.redis = RedisServer(durable=True, host=network["redis"])
        self.redis.extra_args = ["--appendfsync", "everysec"]
        self.redis.start()
        self.nodes = []
        for name in NODES:
            node = Motorhead(self.redis.url, host=network[name],
                             MOTORHEAD_MAX_WINDOW_SIZE=10000,
                             MOTORHEAD_REQUEST_TIMEOUT_MS=5000)
            node.start()
            self.nodes.append(node)
        self.assertTrue(wait_until(
            lambda: all(sees_all(n, len(NODES)) for n in self.nodes), 15),
            "the cluster did not form")
        self.addCleanup(network.heal)

    def run_scenario(self, cut):
        """Runs the traffic through the phases around `cut` (a function
        that makes the fault); returns the Traffic."""
        with Traffic(self.nodes) as traffic:
            traffic.set_phase("before")
            time.sleep(3)
            traffic.set_phase("fault")
            cut()
            time.sleep(self.FAULT_SECONDS)
            traffic.set_phase("healing")
            network.heal()
            began = time.monotonic()
            healed = wait_until(
                lambda: all(sees_all(n, len(NODES)) for n in self.nodes), 10)
            print(f"\nevery node sees every member {time.monotonic() - began:.1f} s "
                  "after healing" if healed else "\nnot healed within 10 s")
            traffic.set_phase("after")
            time.sleep(10)
        for phase in ("before", "fault", "after"):
            for entering in ((0,), (1,), (2,)):
                share, count = traffic.served(phase, entering)
                print(f"{phase}, entering {NODES[entering[0]]}: "
                      f"{100 * share:.1f} % of {count} served")
        self.assertTrue(healed, "not every node saw every member 10 s after healing")
        self.assertEqual(traffic.stale[:5], [], f"{len(traffic.stale)} stale reads")
        lost, doubled = traffic.lost_or_doubled(self.nodes[0])
        self.assertEqual((lost[:5], doubled[:5]), ([], []))
        acknowledged = sum(map(len, traffic.acknowledged.values()))
        print(f"{acknowledged} messages acknowledged: 0 lost, 0 doubled, "
              "0 stale reads")
        self.assertGreaterEqual(traffic.served("after")[0], 0.99)
        return traffic

    def test_a_node_cut_from_its_peers_only(self):
        traffic = self.run_scenario(lambda: (network.cut("n2", "n1"),
                                             network.cut("n2", "n3")))
        self.assertGreaterEqual(traffic.served("fault", (0, 2))[0], 0.95)

    def test_a_node_isolated_from_everything(self):
        traffic = self.run_scenario(lambda: network.isolate("n3"))
        self.assertGreaterEqual(traffic.served("fault", (0, 1))[0], 0.95)

    def test_a_node_cut_from_redis_only(self):
        traffic = self.run_scenario(lambda: network.cut("n1", "redis"))
        self.assertGreaterEqual(traffic.served("fault")[0], 0.90)

    def test_a_one_way_cut_between_two_nodes(self):
        traffic = self.run_scenario(lambda: network.drop("n1", "n2"))
        self.assertGreaterEqual(traffic.served("fault")[0], 0.90)
