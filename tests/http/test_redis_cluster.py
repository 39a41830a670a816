"""The server on a real Redis Cluster (three masters, each with a replica):
the black-box API suite on one node and on a three-node CAF cluster, the
key layout (no key written by every POST, listings merged from shards),
resharding under writes and a master's failover under writes."""

import itertools
import json
import os
import subprocess
import threading
import time
import unittest

import prometheus
import test_http_api as api
import test_redis_ha as ha
import test_retrieval as retrieval
import test_tenants as tenants
from harness import (Cluster, Motorhead, RedisCluster, RedisServer, TestCase,
                     Writer, human, module_scope, refusing_port,
                     wait_for_writes, wait_until)
from load import CheckedTraffic

shared_redis = None


def setUpModule():
    global shared_redis
    with module_scope():
        shared_redis = RedisCluster()
        shared_redis.start()


def messages_key(session):
    return f"motorhead:session:{{{session}}}:messages"


class OnRedisCluster:
    """Runs a black-box suite against the shared Redis Cluster, on a server
    that `serve` makes."""

    serve = Motorhead

    @classmethod
    def setUpClass(cls):
        cls.redis = shared_redis
        cls.server = cls.serve(shared_redis.url, **cls.server_env)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()


class OriginalApiOnRedisCluster(OnRedisCluster, api.OriginalApiTest):
    pass


class BadInputOnRedisCluster(OnRedisCluster, api.BadInputTest):
    pass


class MessageDetailsOnRedisCluster(OnRedisCluster, api.MessageDetailsTest):
    pass


class AuthOnRedisCluster(OnRedisCluster, api.AuthTest):
    pass


class RetrievalOnRedisCluster:
    """Long-term memory on the shared Redis Cluster."""

    def start_redis(self):
        self.redis = shared_redis

    def remove_redis(self):
        pass

    def is_pending(self, session):
        # The shard of the pending list that the session's id hashes to.
        slot = self.redis.command("CLUSTER", "KEYSLOT", session)
        shard = f"motorhead:embedding:pending:{{{slot % 16}}}"
        return self.redis.command("ZSCORE", shard, session) is not None


class HybridRetrievalOnRedisCluster(RetrievalOnRedisCluster,
                                    retrieval.HybridTest):
    pass


class CrashRecoveryOnRedisCluster(RetrievalOnRedisCluster,
                                  retrieval.CrashRecoveryTest):
    pass


class NodesInTurn:
    """A three-node CAF cluster seen as one server: each request goes to
    the next node in turn, so most are forwarded to the session's owner."""

    def __init__(self, redis_url, **env):
        self.cluster = Cluster(redis_url, **env)
        self.turns = itertools.cycle(range(len(self.cluster.nodes)))

    def start(self):
        self.cluster.start()

    def close(self):
        self.cluster.close()

    @property
    def port(self):
        return self.cluster.nodes[0].port

    def __getattr__(self, name):
        # request, get_memory, post_memory, output: of the next node.
        return getattr(self.cluster.nodes[next(self.turns)], name)


class OriginalApiOnBothClusters(OnRedisCluster, api.OriginalApiTest):
    serve = NodesInTurn


class RefusedWritesOnRedisCluster(OnRedisCluster, tenants.RefusedWritesTest):
    pass


class RefusedWritesOnBothClusters(OnRedisCluster, tenants.RefusedWritesTest):
    serve = NodesInTurn


class MetadataOnlyOnBothClusters(OnRedisCluster, tenants.MetadataOnlyTest):
    serve = NodesInTurn


class NamespaceNamesOnBothClusters(OnRedisCluster,
                                   tenants.NamespaceNamesTest):
    serve = NodesInTurn


class BadInputOnBothClusters(OnRedisCluster, api.BadInputTest):
    serve = NodesInTurn


class MessageDetailsOnBothClusters(OnRedisCluster, api.MessageDetailsTest):
    serve = NodesInTurn


class SessionResourceOnBothClusters(OnRedisCluster, api.SessionResourceTest):
    serve = NodesInTurn


class OnBothClusters(RetrievalOnRedisCluster):
    """Long-term memory on three CAF nodes and the shared Redis Cluster:
    a namespace's sessions are owned by different nodes."""

    def make_server(self, env):
        return NodesInTurn(self.redis.url, **env)


class NamespaceSearchOnBothClusters(OnBothClusters,
                                    retrieval.NamespaceSearchTest):

    def test_a_search_reaches_sessions_on_every_node(self):
        namespace = self.prefix + "user"
        sessions = [f"{self.prefix}s{i}" for i in range(40)]
        for session in sessions:
            self.assertEqual(self.server.post_memory(
                session, human(f"owl notes {session}"),
                namespace=namespace)[0], 200)
        owners = {self.server.request("GET", f"/cluster?session={s}")[1]["owner"]
                  for s in sessions}
        # A node with none of 40: 3 * (2/3)^40, about 3 in 10 million.
        self.assertEqual(len(owners), 3)
        for _ in range(3):  # asked of each node in turn: the same answer
            hits = self.search(namespace, "owl notes", 100)
            self.assertEqual(sorted(h["session_id"] for h in hits),
                             sorted(sessions))


class NamespaceHybridOnBothClusters(OnBothClusters,
                                    retrieval.NamespaceHybridTest):
    pass


class NamespaceDeletionOnBothClusters(OnBothClusters,
                                      retrieval.NamespaceDeletionTest):
    pass


class RetentionOnBothClusters(OnBothClusters, retrieval.RetentionTest):
    pass


class KeyLayoutTest(TestCase):
    """No key is written by every POST, and nothing spans two slots."""

    @classmethod
    def setUpClass(cls):
        cls.server = Motorhead(shared_redis.url, MOTORHEAD_REDIS_MODE="cluster")
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_a_post_whose_index_update_failed_is_not_acknowledged(self):
        # The namespace's index lives in another slot than the session:
        # when its update fails, DELETE /namespaces/{ns} would never find
        # the session. The POST is not acknowledged; its retry completes
        # the index.
        namespace, session = "broken-index", "indexed-late"
        index = f"motorhead:namespace:{{{namespace}}}:sessions"
        shared_redis.command("SET", index, "not a sorted set")
        messages = [{"role": "Human", "content": "hi", "id": "late-1"}]
        try:
            status, body, _ = self.server.post_memory(session, messages,
                                                      namespace=namespace)
            self.assertEqual(status, 503, body)
        finally:
            shared_redis.command("DEL", index)
        status, body, _ = self.server.post_memory(session, messages,
                                                  namespace=namespace)
        self.assertEqual(status, 200, body)
        self.assertIsNotNone(shared_redis.command("ZSCORE", index, session))
        status, body, _ = self.server.request("DELETE",
                                              f"/namespaces/{namespace}")
        self.assertEqual((status, body["deleted_sessions"]), (200, 1), body)

    def test_the_session_index_is_split_over_the_masters(self):
        sessions = [f"layout-{i}" for i in range(64)]
        for session in sessions:
            self.assertEqual(self.server.post_memory(
                session, [{"role": "Human", "content": session}])[0], 200)
        keys = shared_redis.keys("motorhead:sessions*")
        self.assertNotIn("motorhead:sessions", keys)
        self.assertGreater(len(keys), 8)
        holders = {shared_redis.master_of(key).port for key in keys}
        self.assertEqual(len(holders), 3)
        listed = set()
        for key in keys:
            listed |= set(shared_redis.command("ZRANGE", key, 0, -1))
        self.assertLessEqual(set(sessions), listed)

    def listing(self, size):
        """Every session listed, page after page."""
        listed = []
        for page in itertools.count(1):
            _, ids, _ = self.server.request(
                "GET", f"/sessions?size={size}&page={page}")
            if not ids:
                return listed
            listed += ids

    def test_a_listing_merges_the_shards_oldest_post_first(self):
        sessions = [f"merge-{i}" for i in range(9)]
        for session in sessions:
            self.server.post_memory(session, [{"role": "Human", "content": "x"}])
            time.sleep(0.003)  # distinct millisecond scores
        everything = self.listing(100)
        self.assertEqual([s for s in everything if s.startswith("merge-")],
                         sessions)
        self.assertEqual(len(set(everything)), len(everything))
        self.assertEqual(self.listing(7), everything)
        # By cursor: each shard's sessions after it, merged.
        self.assertEqual(self.server.list_by_cursor(size=4)[0], everything)

    def test_any_seed_that_answers_gives_the_slot_map(self):
        seeds = f"redis://127.0.0.1:{refusing_port()}," + shared_redis.url[8:]
        server = Motorhead(seeds)
        server.start()
        try:
            self.assertEqual(server.post_memory(
                "seeded", [{"role": "Human", "content": "hi"}])[0], 200)
            self.assertEqual(shared_redis.command(
                "LLEN", messages_key("seeded")), 1)
        finally:
            server.close()


class MigratingSlotTest(TestCase):
    """A session's slot half moved to another master, step by step as
    `redis-cli --cluster reshard` moves it."""

    def setUp(self):
        self.server = Motorhead(shared_redis.url)
        self.server.start()

    def tearDown(self):
        self.server.close()

    def test_reads_follow_ask_and_writes_wait_for_the_slot(self):
        session = "migrating"
        self.assertEqual(self.server.post_memory(
            session, [{"role": "Human", "content": "before"}])[0], 200)
        key = messages_key(session)
        source = shared_redis.master_of(key)
        target = next(m for m in shared_redis.masters() if m is not source)
        slot = source.command("CLUSTER", "KEYSLOT", key)
        source_id, target_id = (node.command("CLUSTER", "MYID")
                                for node in (source, target))
        target.command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        source.command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        keys = source.command("CLUSTER", "GETKEYSINSLOT", slot, 100)
        source.command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000,
                       "KEYS", *keys)
        # A server that has not loaded the session reads it where it went.
        # (The first one stops first: on one Redis they would be one
        # cluster, and the first, the session's owner, would answer.)
        self.assertEqual(self.server.stop(), 0)
        fresh = Motorhead(shared_redis.url)
        fresh.start()
        try:
            self.assertEqual(fresh.get_memory(session)["messages"],
                             [{"role": "Human", "content": "before"}])
            # A write of keys that do not all exist yet waits (TRYAGAIN)
            # until the slot has moved for good.
            finish = threading.Timer(0.3, lambda: [
                node.command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
                for node in (target, source)])
            finish.start()
            status, body, _ = fresh.post_memory(
                session, [{"role": "Human", "content": "during"}])
            finish.join()
            self.assertEqual(status, 200, body)
            self.assertEqual(len(target.command("LRANGE", key, 0, -1)), 2)
            self.assertGreater(prometheus.value(
                fresh.metrics(), "motorhead_redis_redirections_total"), 0)
        finally:
            fresh.close()


class DetectionTest(TestCase):
    """MOTORHEAD_REDIS_MODE=auto (the default) on a single Redis."""

    def test_a_single_redis_keeps_its_single_keys(self):
        redis = RedisServer(durable=False)
        # A hosted Redis may hide INFO: it is then taken for a single one.
        redis.extra_args = ["--rename-command", "INFO", ""]
        redis.start()
        server = Motorhead(redis.url)
        try:
            server.start()
            self.assertEqual(server.post_memory(
                "alone", [{"role": "Human", "content": "hi"}])[0], 200)
            self.assertEqual(redis.command("ZRANGE", "motorhead:sessions",
                                           0, -1), ["alone"])
        finally:
            server.close()
            redis.remove()


class PasswordTest(TestCase):
    def test_every_master_is_reached_with_the_password_of_the_url(self):
        redis = RedisCluster(replicas_each=0, durable=False, password="s3cret")
        redis.start()
        server = Motorhead(redis.url)
        try:
            server.start()
            sessions = [f"auth-{i}" for i in range(12)]
            for session in sessions:
                self.assertEqual(server.post_memory(
                    session, [{"role": "Human", "content": "hi"}])[0], 200)
            holders = {redis.master_of(messages_key(s)).port for s in sessions}
            self.assertEqual(len(holders), 3)
            for session in sessions:
                self.assertEqual(redis.command(
                    "LLEN", messages_key(session)), 1)
        finally:
            server.close()
            redis.remove()


def lost_writes(redis, writers):
    """Acknowledged messages that Redis does not have."""
    lost = 0
    for writer in writers:
        stored = set(redis.command("LRANGE", messages_key(writer.session),
                                   0, -1))
        contents = {json.loads(message)["content"] for message in stored}
        lost += sum(f"{writer.session}-{n}" not in contents
                    for n in writer.acknowledged)
    return lost


class ReshardingTest(TestCase):
    """Slots move between masters while writers run."""

    def setUp(self):
        self.redis = RedisCluster(durable=False)
        self.redis.start()
        self.server = Motorhead(self.redis.url, MOTORHEAD_MAX_WINDOW_SIZE=10000)
        self.server.start()

    def tearDown(self):
        self.server.close()
        self.redis.remove()

    def reshard(self, source, target, slots):
        self.assertTrue(wait_until(self.redis.agrees, timeout=20))
        ids = [node.command("CLUSTER", "MYID") for node in (source, target)]
        subprocess.run(
            ["redis-cli", "--cluster", "reshard", f"127.0.0.1:{source.port}",
             "--cluster-from", ids[0], "--cluster-to", ids[1],
             "--cluster-slots", str(slots), "--cluster-yes"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def test_no_acknowledged_write_is_lost_and_none_fails(self):
        writers = [Writer(self.server.port, f"reshard-{i}") for i in range(8)]
        for writer in writers:
            writer.start()
        self.assertTrue(wait_for_writes(writers))
        a, b, c = self.redis.masters()
        self.reshard(a, b, 3000)
        self.reshard(b, c, 3000)
        self.reshard(c, a, 3000)
        self.assertTrue(wait_for_writes(writers))
        for writer in writers:
            writer.stop()
        acknowledged = sum(len(w.acknowledged) for w in writers)
        refused = sum(w.refused for w in writers)
        redirected = prometheus.value(self.server.metrics(),
                                      "motorhead_redis_redirections_total")
        print(f"{acknowledged} writes acknowledged during resharding, "
              f"{refused} refused, {redirected} commands redirected")
        self.assertGreater(acknowledged, 100)
        self.assertGreater(redirected, 0)
        self.assertEqual(refused, 0)
        self.assertEqual(lost_writes(self.redis, writers), 0)


class FailoverTest(TestCase):
    """A master dies under writers; its replica takes over."""

    def setUp(self):
        self.redis = RedisCluster()
        self.redis.start()
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.close()
        self.redis.remove()

    def fail_over_under_writes(self, **env):
        """Returns (acknowledged, lost, acknowledged after the failover)."""
        self.server = Motorhead(self.redis.url, MOTORHEAD_MAX_WINDOW_SIZE=10000,
                                **env)
        self.server.start()
        writers = [Writer(self.server.port, f"failover-{i}") for i in range(8)]
        for writer in writers:
            writer.start()
        self.assertTrue(wait_for_writes(writers))
        victim = self.redis.masters()[0]
        victim.stop()
        self.assertTrue(wait_until(lambda: len(self.redis.masters()) == 3
                                   and self.redis.healthy(), timeout=30))
        before = sum(len(w.acknowledged) for w in writers)
        # Back as a replica of the new master, so WAIT 1 is met again.
        victim.start()
        self.assertTrue(wait_until(self.redis.healthy, timeout=30))
        # Every writer's session gets writes through the new master.
        self.assertTrue(wait_for_writes(writers))
        for writer in writers:
            writer.stop()
        acknowledged = sum(len(w.acknowledged) for w in writers)
        lost = lost_writes(self.redis, writers)
        print(f"{acknowledged} writes acknowledged ({acknowledged - before} "
              f"after the failover), {lost} of them lost, "
              f"{sum(w.refused for w in writers)} refused")
        return acknowledged, lost, acknowledged - before

    def test_with_wait_a_failover_loses_no_acknowledged_write(self):
        _, lost, after = self.fail_over_under_writes(
            MOTORHEAD_REDIS_WAIT_REPLICAS=1, MOTORHEAD_REDIS_WAIT_TIMEOUT_MS=500)
        self.assertEqual(lost, 0)
        self.assertGreater(after, 0)

    def test_a_retry_carries_the_replica_guarantee_of_a_first_write(self):
        self.server = Motorhead(self.redis.url,
                                MOTORHEAD_REDIS_WAIT_REPLICAS=1,
                                MOTORHEAD_REDIS_WAIT_TIMEOUT_MS=200)
        self.server.start()
        session = "retried"
        master = self.redis.master_of(messages_key(session))
        replica = next(node for node in self.redis.running()
                       if node.command("ROLE")[0] == "slave"
                       and int(node.command("ROLE")[2]) == master.port)
        ha.assert_retry_waits_for(self, self.server, replica, session,
                                  read=replica.command_readonly)

    def test_without_wait_writes_go_on_with_the_new_master(self):
        # Replication is asynchronous: an acknowledged write may be lost
        # with the master. The count is printed, not asserted.
        _, _, after = self.fail_over_under_writes()
        self.assertGreater(after, 0)


class TableFailoverTest(TestCase):
    """The master holding the membership table's slot fails over under
    traffic through two nodes: the replica may lack the newest renewals and
    declarations of death (replication is asynchronous), so every node
    serves nothing from memory for a lease and then goes on with the table
    as the new master has it."""

    def test_a_failover_of_the_tables_master_serves_no_stale_read(self):
        redis = RedisCluster()
        redis.start()
        self.addCleanup(redis.remove)
        nodes = Cluster(redis.url, size=2, MOTORHEAD_MAX_WINDOW_SIZE=10000,
                        MOTORHEAD_REQUEST_TIMEOUT_MS=5000,
                        MOTORHEAD_REDIS_WAIT_REPLICAS=1,
                        MOTORHEAD_REDIS_WAIT_TIMEOUT_MS=500)
        nodes.start()
        self.addCleanup(nodes.close)
        victim = redis.master_of("motorhead:{members}:version")
        with CheckedTraffic(nodes.nodes) as traffic:
            traffic.set_phase("before")
            time.sleep(2)
            traffic.set_phase("failover")
            victim.stop()
            self.assertTrue(wait_until(lambda: len(redis.masters()) == 3
                                       and redis.healthy(), timeout=30))
            victim.start()  # back as a replica: WAIT 1 is met again
            self.assertTrue(wait_until(redis.healthy, timeout=30))
            traffic.set_phase("after")
            time.sleep(4)
        for node in nodes.nodes:
            self.assertIn("Redis restarted or failed over", node.output())
        self.assertEqual(traffic.stale[:5], [])
        lost, doubled = traffic.lost_or_doubled(nodes.nodes[0])
        self.assertEqual((lost[:5], doubled[:5]), ([], []))
        share, count = traffic.served("after")
        print(f"\n{sum(map(len, traffic.acknowledged.values()))} messages "
              f"acknowledged, 0 lost, 0 stale reads; after the failover "
              f"{100 * share:.1f} % of {count} requests served")
        self.assertGreaterEqual(share, 0.99)


def load_tests(loader, tests, pattern):
    """On a sanitizer build the suites three nodes rerun on the Redis
    Cluster (*OnBothClusters) are left to the release build: their code
    paths are those of one node on the Redis Cluster, here, and of three
    nodes on one Redis, in the cluster suite, both run under the
    sanitizers too."""
    if not os.environ.get("MOTORHEAD_SANITIZED_BUILD"):
        return tests
    kept = unittest.TestSuite()
    for group in tests:
        for case in group:
            if not type(case).__name__.endswith("OnBothClusters"):
                kept.addTest(case)
    return kept


if __name__ == "__main__":
    unittest.main()
