"""Partitions, as a real network makes them: three nodes and a Redis, each
on a host of its own (netns.py), cut from one another by blackhole routes
(packets vanish: no reset, connections hang), with writers and readers
going through every node the whole time. Every GET is checked against the
writes acknowledged before it began; at the end every acknowledged message
must be stored exactly once. The nodes run with the default timings.

Needs root (network namespaces); scripts/test runs it on the release build
only."""

import signal
import threading
import time
import uuid

import netns
from harness import (Motorhead, RedisServer, Sentinel, TestCase, module_scope,
                     wait_until)
from load import CheckedTraffic

NODES = ("n1", "n2", "n3")
REPLICAS = ("replica1", "replica2")
network = None


def setUpModule():
    global network
    if not netns.available():
        raise RuntimeError("the partition tests need root and `ip netns`")
    network = netns.Network(["client", "redis", *REPLICAS, "sentinel",
                              *NODES])
    # The test reaches every host from a host of its own, never cut.
    network.enter("client")
    with module_scope() as scope:
        scope.add(network.remove)


def everysec_redis(host, replica_of=None):
    """A durable Redis started on `host`, its append-only file synced every
    second, as Redis ships it."""
    redis = RedisServer(durable=True, replica_of=replica_of, host=network[host])
    redis.extra_args = ["--appendfsync", "everysec"]
    redis.start()
    return redis


def cluster_view(node):
    return node.request("GET", "/cluster", headers=node.operator_headers())[1]


def sees_all(node, count):
    try:
        return len(cluster_view(node).get("members", [])) == count
    except OSError:
        return False


class PartitionScenarios(TestCase):
    """One scenario a test: the cluster forms, traffic runs for 3 s, the
    fault lasts 10 s, the network heals, every node must see every member
    within 10 s, then 10 s more of traffic."""

    FAULT_SECONDS = 10
    HEALING_SECONDS = 10

    def healed(self):
        """Whether the system is whole again after the network healed."""
        return all(sees_all(n, len(NODES)) for n in self.nodes)

    def start_redis(self):
        """Starts the Redis the nodes share; returns the settings that
        name it."""
        self.redis = everysec_redis("redis")
        return {}

    def setUp(self):
        store = self.start_redis()
        self.nodes = []
        for name in NODES:
            node = Motorhead(self.redis.url, host=network[name],
                             MOTORHEAD_MAX_WINDOW_SIZE=10000,
                             MOTORHEAD_REQUEST_TIMEOUT_MS=5000, **store)
            node.start()
            self.nodes.append(node)
        self.assertTrue(wait_until(
            lambda: all(sees_all(n, len(NODES)) for n in self.nodes), 15),
            "the cluster did not form")
        self.addCleanup(network.heal)

    def run_scenario(self, cut):
        """Runs the traffic through the phases around `cut` (a function
        that makes the fault); returns the Traffic."""
        with CheckedTraffic(self.nodes) as traffic:
            traffic.set_phase("before")
            time.sleep(3)
            traffic.set_phase("fault")
            cut()
            time.sleep(self.FAULT_SECONDS)
            traffic.set_phase("healing")
            network.heal()
            began = time.monotonic()
            healed = wait_until(self.healed, self.HEALING_SECONDS)
            print(f"\nhealed {time.monotonic() - began:.1f} s after the "
                  "network" if healed else
                  f"\nnot healed within {self.HEALING_SECONDS} s")
            traffic.set_phase("after")
            time.sleep(10)
        for phase in ("before", "fault", "after"):
            for entering in ((0,), (1,), (2,)):
                share, count = traffic.served(phase, entering)
                print(f"{phase}, entering {NODES[entering[0]]}: "
                      f"{100 * share:.1f} % of {count} served")
        self.assertTrue(healed, f"not healed {self.HEALING_SECONDS} s after "
                                "the network")
        lost, doubled = traffic.lost_or_doubled(self.nodes[0])
        self.assertEqual((traffic.stale[:5], lost[:5], doubled[:5]),
                         ([], [], []),
                         f"{len(traffic.stale)} stale reads, {len(lost)} "
                         f"lost, {len(doubled)} doubled")
        acknowledged = sum(map(len, traffic.acknowledged.values()))
        print(f"{acknowledged} messages acknowledged: 0 lost, 0 doubled, "
              "0 stale reads")
        self.assertGreaterEqual(traffic.served("after")[0], 0.99)
        return traffic



class PartitionTest(PartitionScenarios):
    def test_a_node_cut_from_its_peers_only(self):
        traffic = self.run_scenario(lambda: (network.cut("n2", "n1"),
                                             network.cut("n2", "n3")))
        self.assertGreaterEqual(traffic.served("fault", (0, 2))[0], 0.95)

    def test_a_node_isolated_from_everything(self):
        # From the other nodes and Redis; the clients still reach it (a
        # request cut mid-way would hang on the client's side, and measure
        # the client).
        traffic = self.run_scenario(lambda: network.isolate("n3", but=("client",)))
        self.assertGreaterEqual(traffic.served("fault", (0, 1))[0], 0.95)

    def test_a_node_cut_from_redis_only(self):
        traffic = self.run_scenario(lambda: network.cut("n1", "redis"))
        self.assertGreaterEqual(traffic.served("fault")[0], 0.90)

    def test_a_one_way_cut_between_two_nodes(self):
        traffic = self.run_scenario(lambda: network.drop("n1", "n2"))
        self.assertGreaterEqual(traffic.served("fault")[0], 0.90)

    def test_redis_restarted_under_traffic(self):
        # Another Redis process answers afterwards: every node serves nothing
        # from memory for a lease, then reads what Redis kept. (SIGTERM: Redis
        # writes its append-only file out, so nothing acknowledged is lost.)
        def restart():
            self.redis.process.send_signal(signal.SIGTERM)
            self.redis.process.wait()
            self.redis.process = None
            time.sleep(1)
            self.redis.start()
        self.run_scenario(restart)


class ReplicatedPartitionTest(PartitionScenarios):
    """A master with two replicas, each on a host of its own, and a
    sentinel that fails the master over a second after it stops answering.
    Writes wait for both replicas (MOTORHEAD_REDIS_WAIT_REPLICAS=2): the
    sentinel promotes the replica with the largest replication offset it
    last saw, which need not be one that confirmed a write (with WAIT 1,
    one run lost 3 of 1,300 acknowledged writes so). The membership table
    is not waited for: the new master's run id tells every node that
    renewals may have been lost."""

    MASTER = "motorhead"

    def start_redis(self):
        super().start_redis()
        self.replicas = [everysec_redis(name, replica_of=self.redis)
                         for name in REPLICAS]
        for replica in self.replicas:
            self.assertTrue(wait_until(replica.replicating))
        self.sentinel = Sentinel(self.redis, self.MASTER,
                                 host=network["sentinel"])
        self.sentinel.start()
        self.assertTrue(wait_until(
            lambda: len(self.sentinel.command(
                "SENTINEL", "replicas", self.MASTER)) == len(REPLICAS),
            timeout=20), "the sentinel did not learn the replicas")
        return {"MOTORHEAD_REDIS_SENTINELS":
                f"{self.sentinel.address}:{self.sentinel.port}",
                "MOTORHEAD_REDIS_MASTER": self.MASTER,
                "MOTORHEAD_REDIS_WAIT_REPLICAS": len(REPLICAS),
                "MOTORHEAD_REDIS_WAIT_TIMEOUT_MS": 500}

    # The sentinel makes the old master a replica some 8 s after it reaches
    # it again (four of its 2 s hello periods), then it copies the data.
    HEALING_SECONDS = 30

    def healed(self):
        """Also: every replica, the old master among them, copies the new
        master (writes wait for as many replicas as there are)."""
        if not super().healed():
            return False
        host, port = self.sentinel.master_address()
        master = next(r for r in (self.redis, *self.replicas)
                      if r.address == host)
        return all(redis.replicating() for redis in (self.redis, *self.replicas)
                   if redis is not master)

    def failed_over(self):
        return self.sentinel.master_address()[0] != self.redis.address

    def test_the_master_isolated_and_failed_over(self):
        def isolate_the_master():
            network.isolate("redis")
            self.assertTrue(wait_until(self.failed_over, timeout=8),
                            "the sentinel did not fail the master over")
        traffic = self.run_scenario(isolate_the_master)
        self.assertGreaterEqual(traffic.served("fault")[0], 0.5)

    def test_the_master_cut_from_its_replicas_and_failed_over(self):
        # The nodes still reach the old master, which takes no write its
        # replicas do not confirm; once the network heals the sentinel
        # makes it a replica, and the nodes find the new master.
        def cut_the_master_from_replication():
            for other in (*REPLICAS, "sentinel"):
                network.cut("redis", other)
            self.assertTrue(wait_until(self.failed_over, timeout=8),
                            "the sentinel did not fail the master over")
        self.run_scenario(cut_the_master_from_replication)
