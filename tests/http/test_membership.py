"""Nodes that share a Redis form one cluster through the membership table in
it, with no cluster settings: they find each other, join and leave under
traffic, and serve only members."""

import concurrent.futures
import signal
import subprocess
import threading
import time
import unittest
import uuid

import prometheus
from harness import (ROGUE_PEER, Motorhead, PortReservation, RedisServer,
                     TcpProxy, TestCase, role_and_content, turn, wait_until)


def new_session(tag="m"):
    return f"{tag}-{uuid.uuid4().hex[:12]}"


def cluster_view(node):
    return node.request("GET", "/cluster", headers=node.operator_headers())[1]


def members(node):
    return sorted(cluster_view(node)["members"])


def all_see(nodes, count, timeout):
    return wait_until(lambda: all(len(members(n)) == count for n in nodes),
                      timeout=timeout)


class DefaultSettingsTest(TestCase):
    """Two nodes on one Redis, started as `--scale 2` would: the same
    environment, nothing about a cluster."""

    def setUp(self):
        self.redis = RedisServer()
        self.redis.start()

    def start_node(self, **env):
        node = Motorhead(self.redis.url, **env)
        node.start()
        return node

    def test_two_nodes_on_one_redis_form_one_cluster(self):
        nodes = [self.start_node(), self.start_node()]
        self.assertTrue(all_see(nodes, 2, timeout=10))
        views = [cluster_view(n) for n in nodes]
        self.assertEqual(views[0]["members"], views[1]["members"])
        self.assertEqual(views[0]["version"], views[1]["version"])
        for view in views:  # loopback, an ephemeral port
            self.assertTrue(view["node"].startswith("127.0.0.1:"), view)
            self.assertNotIn("waiting_for", view)
        self.assertEqual(self.redis.command("HLEN", "motorhead:{members}:rows"), 2)
        # One owner per session, whichever node a request enters: a write
        # through one is read through the other at once, 0 stale reads.
        sessions = [new_session() for _ in range(40)]
        for i, session in enumerate(sessions):
            self.assertEqual(nodes[i % 2].post_memory(session, [turn(i)])[0], 200)
            self.assertEqual(nodes[(i + 1) % 2].get_memory(session)["messages"],
                             [turn(i)])
        owners = {n.request("GET", f"/cluster?session={sessions[0]}",
                            headers=n.operator_headers())[1]["owner"]
                  for n in nodes}
        self.assertEqual(len(owners), 1)
        self.assertEqual(sum(prometheus.value(n.metrics(),
                                              "motorhead_session_loads_total")
                             for n in nodes), len(sessions))
        for node in nodes:
            metrics = node.metrics()
            self.assertEqual(prometheus.value(metrics, "motorhead_cluster_members"), 2)
            self.assertEqual(prometheus.value(
                metrics, "motorhead_cluster_view_version"), views[0]["version"])

    def test_a_node_joins_and_leaves_a_running_cluster_under_traffic(self):
        nodes = [self.start_node(), self.start_node()]
        self.assertTrue(all_see(nodes, 2, timeout=10))
        sessions = [new_session() for _ in range(60)]
        failures = []
        stop = threading.Event()
        lock = threading.Lock()
        live = list(nodes)

        def traffic(seed):
            n = seed * 10**6
            while not stop.is_set():
                n += 1
                session = sessions[n % len(sessions)]
                with lock:
                    node = live[n % len(live)]
                    reader = live[(n + 1) % len(live)]
                try:
                    status, _, _ = node.post_memory(session, [turn(n)])
                    if status != 200:
                        failures.append(("POST", status))
                        continue
                    memory = reader.get_memory(session)
                except ConnectionRefusedError:
                    # Picked just before it was drained: its port closed.
                    with lock:
                        if node in live and reader in live:
                            raise
                    continue
                # Through another node, right after the acknowledgement:
                # the message is there (newest first, within the window).
                if turn(n) not in memory["messages"]:
                    failures.append(("stale", session, memory["messages"][:2]))

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            workers = [pool.submit(traffic, i) for i in range(4)]
            time.sleep(1)
            joiner = self.start_node()
            self.assertTrue(all_see(nodes + [joiner], 3, timeout=10))
            with lock:
                live.append(joiner)
            time.sleep(1)
            owned = [s for s in sessions
                     if joiner.request("GET", f"/cluster?session={s}",
                                       headers=joiner.operator_headers())[1]["owner"]
                     == cluster_view(joiner)["node"]]
            self.assertGreater(len(owned), 5)
            with lock:
                live.remove(nodes[0])
            self.assertEqual(nodes[0].stop(signal.SIGTERM), 0)
            self.assertTrue(all_see([nodes[1], joiner], 2, timeout=5))
            time.sleep(1)
            stop.set()
            for worker in workers:
                worker.result()
        stale = [f for f in failures if f[0] == "stale"]
        self.assertEqual(stale, [])
        self.assertLess(len(failures), 5, failures[:10])
        rows = self.redis.command("HGETALL", "motorhead:{members}:rows")
        statuses = sorted(rows[i + 1].split()[0] for i in range(0, len(rows), 2))
        self.assertEqual(statuses, ["active", "active", "left"])

    def test_a_killed_node_is_declared_dead_through_redis(self):
        nodes = [self.start_node(MOTORHEAD_CLUSTER_FAILURE_MS=1000,
                                 MOTORHEAD_CLUSTER_HEARTBEAT_MS=200)
                 for _ in range(3)]
        self.assertTrue(all_see(nodes, 3, timeout=10))
        victim = cluster_view(nodes[2])["node"]
        nodes[2].stop(signal.SIGKILL)
        self.assertTrue(all_see(nodes[:2], 2, timeout=5))
        self.assertNotIn(victim, members(nodes[0]))
        # Its sessions are served by the survivors.
        for i in range(20):
            session = new_session()
            self.assertEqual(nodes[i % 2].post_memory(session, [turn(i)])[0], 200)


class UnreachableMemberTest(TestCase):
    """A member listed in Redis that this node cannot reach (a node on
    another host that advertises its loopback address, say)."""

    def test_a_node_that_cannot_reach_a_member_is_not_ready_and_says_why(self):
        redis = RedisServer()
        redis.start()
        # A member alive in the table, at an address nobody listens on.
        ghost = "127.0.0.1:9/1"
        redis.command("HSET", "motorhead:{members}:rows", ghost,
                      "active 127.0.0.1:9 1 0")
        redis.command("SET", "motorhead:{members}:version", 1)
        alive = threading.Event()

        def keep_alive():
            while not alive.is_set():
                redis.command("HINCRBY", "motorhead:{members}:renewals",
                              ghost, 1)
                alive.wait(0.1)

        keeper = threading.Thread(target=keep_alive, daemon=True)
        keeper.start()
        self.addCleanup(keeper.join)
        self.addCleanup(alive.set)
        node = Motorhead(redis.url, MOTORHEAD_CLUSTER_FAILURE_MS=500,
                         MOTORHEAD_CLUSTER_HEARTBEAT_MS=100)
        node.start()
        self.assertTrue(wait_until(
            lambda: "waiting_for" in cluster_view(node)
            and "cannot reach" in cluster_view(node)["waiting_for"], timeout=5))
        status, body, _ = node.request("GET", "/readyz")
        self.assertEqual(status, 503)
        self.assertIn("MOTORHEAD_CLUSTER_ADVERTISE", body["error"])
        status, body, _ = node.request("GET", f"/sessions/{new_session()}/memory")
        self.assertEqual(status, 503)
        self.assertIn("127.0.0.1:9", body["error"])
        self.assertIn("cannot reach", node.output())
        # Once the member is gone (no sign of life), the node joins.
        alive.set()
        self.assertTrue(wait_until(
            lambda: node.request("GET", "/readyz")[0] == 200, timeout=5))


class RogueNodeTest(TestCase):
    """A node of another Redis takes a member of this one for its own: it
    may reach the member's cluster port, but reads, writes and deletes
    nothing there, key or no key."""

    def test_a_node_outside_the_table_is_served_nothing(self):
        redis = RedisServer()
        redis.start()
        victim = Motorhead(redis.url, MOTORHEAD_API_KEYS="admin-key")
        victim.start()
        self.assertTrue(wait_until(lambda: len(members(victim)) == 1, timeout=10))
        victim_view = cluster_view(victim)
        address, incarnation = victim_view["incarnation"].rsplit("/", 1)
        sessions = [new_session() for _ in range(10)]
        headers = {"Authorization": "Bearer admin-key"}
        for i, session in enumerate(sessions):
            self.assertEqual(victim.request(
                "POST", f"/sessions/{session}/memory",
                {"messages": [turn(i)]}, headers=headers)[0], 200)
        # The rogue's own Redis lists the victim as an active member, kept
        # alive, so that the rogue routes part of the sessions to it.
        rogue_redis = RedisServer()
        rogue_redis.start()
        rogue_redis.command("HSET", "motorhead:{members}:rows",
                            victim_view["incarnation"],
                            f"active {address} {incarnation} 0")
        rogue_redis.command("SET", "motorhead:{members}:version", 1)
        done = threading.Event()

        def keep_alive():
            while not done.is_set():
                rogue_redis.command("HINCRBY", "motorhead:{members}:renewals",
                                    victim_view["incarnation"], 1)
                done.wait(0.1)

        keeper = threading.Thread(target=keep_alive, daemon=True)
        keeper.start()
        self.addCleanup(keeper.join)
        self.addCleanup(done.set)
        rogue = Motorhead(rogue_redis.url, MOTORHEAD_CLUSTER_PEERS=address)
        rogue.start()
        self.assertTrue(wait_until(lambda: len(members(rogue)) == 2, timeout=10))
        routed = [s for s in sessions
                  if rogue.request("GET", f"/cluster?session={s}")[1]["owner"]
                  == address]
        self.assertGreater(len(routed), 0)
        # Whatever the rogue answers comes from its own Redis, if any: never
        # the victim's messages, and its writes never reach the victim.
        for i, session in enumerate(routed):
            status, body, _ = rogue.request("GET", f"/sessions/{session}/memory")
            self.assertNotIn(turn(sessions.index(session))["content"],
                             [m["content"] for m in body.get("messages", [])])
            rogue.request("POST", f"/sessions/{session}/memory",
                          {"messages": [turn(99)]})
            rogue.request("DELETE", f"/sessions/{session}/memory")
        self.assertIsNone(victim.process.poll(), victim.output()[-3000:])
        for i, session in enumerate(sessions):
            status, body, _ = victim.request(
                "GET", f"/sessions/{session}/memory", headers=headers)
            self.assertEqual((status, [m["content"] for m in body["messages"]]),
                             (200, [turn(i)["content"]]))
        self.assertEqual(members(victim), [victim_view["node"]])



    def test_a_stranger_on_the_cluster_port_is_served_nothing(self):
        """The actor that answers a stranger's heartbeat is the node itself:
        its HTTP-front and control messages must refuse the stranger too."""
        redis = RedisServer()
        redis.start()
        victim = Motorhead(redis.url)
        victim.start()
        self.assertTrue(wait_until(lambda: len(members(victim)) == 1, timeout=10))
        session = new_session()
        self.assertEqual(victim.post_memory(session, [turn(1)])[0], 200)
        host, port = cluster_view(victim)["node"].rsplit(":", 1)
        attempts = dict(line.split(": ", 1) for line in subprocess.run(
            [ROGUE_PEER, host, port, session], check=True,
            capture_output=True, text=True, timeout=60).stdout.splitlines())
        self.assertEqual(attempts["heartbeat"], "served")  # harmless
        for what in ("read", "delete", "leave"):
            self.assertTrue(attempts[what].startswith("refused"), attempts)
        self.assertEqual(victim.get_memory(session)["messages"], [turn(1)])
        self.assertEqual(members(victim), [cluster_view(victim)["node"]])
        self.assertNotIn("leaving the cluster", victim.output())

class ElasticTest(TestCase):
    """The cluster grows and shrinks under traffic, found through Redis
    alone: two nodes, two more join, one is drained, one is killed, a new
    one joins. Writers and readers go through every live node; every GET
    is checked against the writes acknowledged before it began."""

    SESSIONS = 60
    FAILURE_MS = 2000

    def setUp(self):
        self.redis = RedisServer(durable=False)
        self.redis.start()
        self.sessions = [new_session("e") for _ in range(self.SESSIONS)]
        self.lock = threading.Lock()
        self.live = []
        self.phase = "start"
        # Per session: (message content, monotonic time its POST was
        # acknowledged), in acknowledgement order.
        self.acknowledged = {s: [] for s in self.sessions}
        self.answers = []  # (phase, ok: 2xx within 5 s)
        self.stale = []
        self.stop = threading.Event()

    def start_node(self):
        # A window no session fills: every message stays visible, so that a
        # read shows exactly what was stored.
        node = Motorhead(self.redis.url, MOTORHEAD_MAX_WINDOW_SIZE=10000,
                         MOTORHEAD_CLUSTER_FAILURE_MS=self.FAILURE_MS,
                         MOTORHEAD_REQUEST_TIMEOUT_MS=5000)
        node.start()
        return node

    def pick(self, n):
        with self.lock:
            return self.live[n % len(self.live)], self.phase

    def record(self, phase, status, seconds):
        with self.lock:
            self.answers.append((phase, 200 <= status < 300 and seconds < 5))

    def write(self, worker):
        n = worker * 10**6
        while not self.stop.is_set():
            n += 1
            session = self.sessions[n % self.SESSIONS]
            node, phase = self.pick(n)
            content = f"w{n}"
            began = time.monotonic()
            try:
                status, _, _ = node.post_memory(
                    session, [{"role": "Human", "content": content}])
            except OSError:
                status = 0
            self.record(phase, status, time.monotonic() - began)
            if status == 200:
                with self.lock:
                    self.acknowledged[session].append(
                        (content, time.monotonic()))

    def read(self, worker):
        n = worker * 10**6
        while not self.stop.is_set():
            n += 1
            session = self.sessions[(n * 7) % self.SESSIONS]
            node, phase = self.pick(n)
            began = time.monotonic()
            with self.lock:
                before = [c for c, at in self.acknowledged[session]]
            try:
                status, body, _ = node.request("GET", f"/sessions/{session}/memory")
            except OSError:
                status, body = 0, {}
            self.record(phase, status, time.monotonic() - began)
            if status != 200:
                continue
            seen = {m["content"] for m in body["messages"]}
            missing = [c for c in before if c not in seen]
            if missing:
                with self.lock:
                    self.stale.append((phase, session, missing[:3]))

    def availability(self, phase):
        answers = [ok for p, ok in self.answers if p == phase]
        return sum(answers) / max(1, len(answers)), len(answers)

    def set_phase(self, phase, live=None):
        with self.lock:
            self.phase = phase
            if live is not None:
                self.live = live

    def owners(self, node):
        view = lambda s: node.request(
            "GET", f"/cluster?session={s}", headers=node.operator_headers())[1]
        return [view(s)["owner"] for s in self.sessions]

    def test_join_drain_kill_and_rejoin_under_traffic(self):
        first = [self.start_node(), self.start_node()]
        self.assertTrue(all_see(first, 2, timeout=10))
        self.set_phase("two", first)
        threads = ([threading.Thread(target=self.write, args=(i,)) for i in range(3)]
                   + [threading.Thread(target=self.read, args=(i,)) for i in range(3)])
        for thread in threads:
            thread.start()
        try:
            time.sleep(1)
            self.set_phase("join")
            joiners = [self.start_node(), self.start_node()]
            nodes = first + joiners
            began = time.monotonic()
            self.assertTrue(all_see(nodes, 4, timeout=10))
            print(f"4 members seen by all {time.monotonic() - began:.2f} s "
                  "after the joiners started")
            self.set_phase("join", nodes)
            owners = self.owners(nodes[0])
            shares = [owners.count(cluster_view(n)["node"]) / self.SESSIONS
                      for n in nodes]
            print("shares of the 60 sessions: "
                  + ", ".join(f"{100 * share:.0f} %" for share in shares))
            # Rendezvous hashing spreads them as a fair die would: each
            # node's count is Binomial(60, 1/4), below 15 % (9) in ~2.5 % of
            # nodes, below 10 % (6) in ~0.03 %.
            for share in shares:
                self.assertGreaterEqual(share, 0.10, (shares, owners))
            time.sleep(2)

            self.set_phase("drain", nodes[1:])
            drained = nodes[0]
            began = time.monotonic()
            self.assertEqual(drained.stop(signal.SIGTERM), 0)
            self.assertTrue(all_see(nodes[1:], 3, timeout=5))
            print(f"3 members seen {time.monotonic() - began:.2f} s after SIGTERM")
            time.sleep(2)

            self.set_phase("kill", nodes[2:])
            killed = nodes[1]
            began = time.monotonic()
            killed.stop(signal.SIGKILL)
            self.assertTrue(all_see(nodes[2:], 2,
                                    timeout=self.FAILURE_MS / 1000 + 2))
            print(f"2 members seen {time.monotonic() - began:.2f} s after SIGKILL")
            # The killed node's sessions wait out its lease (2 s from its
            # last renewal) before the survivors load them: a phase of a
            # few seconds measures more than the requests caught in it.
            time.sleep(5)

            self.set_phase("rejoin")
            newcomer = self.start_node()
            self.assertTrue(all_see(nodes[2:] + [newcomer], 3, timeout=10))
            self.set_phase("rejoin", nodes[2:] + [newcomer])
            time.sleep(2)
        finally:
            self.stop.set()
            for thread in threads:
                thread.join()
        for phase in ("join", "drain", "kill", "rejoin"):
            ratio, count = self.availability(phase)
            print(f"{phase}: {count} requests, {100 * ratio:.2f} % 2xx within 5 s")
            self.assertGreaterEqual(ratio, 0.95 if phase == "kill" else 0.99,
                                    phase)
        self.assertEqual(self.stale, [])
        # Every acknowledged message is stored once.
        reader = nodes[2]
        for session in self.sessions:
            stored = [m["content"] for m in reader.get_memory(session)["messages"]]
            self.assertEqual(len(stored), len(set(stored)), session)
            acked = {c for c, _ in self.acknowledged[session]}
            self.assertEqual(acked - set(stored), set(), session)
        print(f"{sum(len(v) for v in self.acknowledged.values())} messages "
              "acknowledged, 0 lost, 0 stored twice, 0 stale reads")


class TableFaultsTest(TestCase):
    """What happens to the table, or to a node's way to it, that no node
    decides: a reset, an outage, a cut, a shared address."""

    def setUp(self):
        self.redis = RedisServer()
        self.redis.start()

    def start_node(self, redis_url=None, **env):
        node = Motorhead(redis_url or self.redis.url,
                         MOTORHEAD_CLUSTER_FAILURE_MS=1000,
                         MOTORHEAD_CLUSTER_HEARTBEAT_MS=200, **env)
        node.start()
        return node

    def test_nodes_join_again_when_the_table_is_reset(self):
        nodes = [self.start_node(), self.start_node()]
        self.assertTrue(all_see(nodes, 2, timeout=10))
        self.redis.command("FLUSHALL")  # Redis restarted empty, say
        self.assertTrue(wait_until(lambda: all(
            len(members(n)) == 2 and "waiting_for" not in cluster_view(n)
            for n in nodes), timeout=10))
        # One table again: a node started now joins the same cluster.
        nodes.append(self.start_node())
        self.assertTrue(all_see(nodes, 3, timeout=10))
        versions = {cluster_view(n)["version"] for n in nodes}
        self.assertEqual(len(versions), 1)

    def test_an_outage_of_redis_declares_no_healthy_node_dead(self):
        nodes = [self.start_node(), self.start_node()]
        self.assertTrue(all_see(nodes, 2, timeout=10))
        incarnations = sorted(cluster_view(n)["incarnation"] for n in nodes)
        self.redis.stop()
        time.sleep(3)  # three failure timeouts
        self.redis.start()
        self.assertTrue(wait_until(lambda: all(
            n.request("GET", "/readyz")[0] == 200 for n in nodes), timeout=10))
        time.sleep(2)
        self.assertEqual(sorted(cluster_view(n)["incarnation"] for n in nodes),
                         incarnations)
        for node in nodes:
            self.assertNotIn("declared dead", node.output())

    def test_a_node_advertising_another_nodes_address_does_not_join(self):
        first = self.start_node()
        self.assertTrue(wait_until(lambda: len(members(first)) == 1, timeout=10))
        address = cluster_view(first)["node"]
        # (Behind a port mapping: it binds a port of its own.)
        port = PortReservation()
        self.addCleanup(port.release)
        second = self.start_node(MOTORHEAD_CLUSTER_ADVERTISE=address,
                                 MOTORHEAD_CLUSTER_PORT=port.port)
        self.assertTrue(wait_until(
            lambda: "advertises this node's address" in cluster_view(second).get(
                "waiting_for", ""), timeout=10), second.output())
        self.assertEqual(second.request("GET", "/readyz")[0], 503)
        time.sleep(1)
        self.assertEqual(members(first), [address])
        self.assertEqual(first.request("GET", "/readyz")[0], 200)
        self.assertNotIn("declared dead", first.output())

    def start_stranded(self, advertised_host):
        """A node that binds loopback but advertises `advertised_host`,
        where nothing listens: it reaches the members, they cannot reach
        it. Returned once it says so."""
        port = PortReservation()
        self.addCleanup(port.release)
        stranded = self.start_node(
            MOTORHEAD_CLUSTER_HOST="127.0.0.1",
            MOTORHEAD_CLUSTER_PORT=port.port,
            MOTORHEAD_CLUSTER_ADVERTISE=f"{advertised_host}:{port.port}")
        self.assertTrue(wait_until(
            lambda: "cannot reach this node" in cluster_view(stranded).get(
                "waiting_for", ""), timeout=15), stranded.output())
        return stranded

    def test_a_node_the_members_cannot_reach_is_not_admitted(self):
        member = self.start_node()
        self.assertTrue(wait_until(lambda: len(members(member)) == 1, timeout=10))
        stranded = self.start_stranded("127.0.0.2")
        self.assertIn("MOTORHEAD_CLUSTER_ADVERTISE",
                      cluster_view(stranded)["waiting_for"])
        self.assertEqual(stranded.request("GET", "/readyz")[0], 503)
        # The member serves every session alone.
        self.assertTrue(wait_until(
            lambda: members(member) == [cluster_view(member)["node"]],
            timeout=5))
        for i in range(10):
            self.assertEqual(member.post_memory(new_session(), [turn(i)])[0], 200)

    def test_a_node_cut_off_from_redis_serves_no_stale_read(self):
        proxy = TcpProxy(self.redis.port)
        self.addCleanup(proxy.close)
        survivor = self.start_node()
        cut_off = self.start_node(redis_url=f"redis://127.0.0.1:{proxy.port}")
        self.assertTrue(all_see([survivor, cut_off], 2, timeout=10))
        address = cluster_view(cut_off)["node"]
        session = next(s for s in (new_session() for _ in range(400))
                       if survivor.request("GET", f"/cluster?session={s}")[1]
                       ["owner"] == address)
        self.assertEqual(cut_off.post_memory(session, [turn(0)])[0], 200)
        proxy.cut()
        self.assertTrue(wait_until(
            lambda: members(survivor) == [cluster_view(survivor)["node"]],
            timeout=5))
        self.assertEqual(survivor.post_memory(session, [turn(1)])[0], 200)
        # The cut-off node, still reachable by clients, answers no read
        # from the copy it held: it forwards what enters it to the members.
        status, body, _ = cut_off.request("GET", f"/sessions/{session}/memory")
        self.assertEqual(status, 200, body)
        self.assertEqual(role_and_content(body["messages"]), [turn(1), turn(0)])
        self.assertEqual(cut_off.request("GET", "/readyz")[0], 503)


if __name__ == "__main__":
    unittest.main()
