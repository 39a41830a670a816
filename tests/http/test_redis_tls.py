"""A Redis that serves TLS only (rediss://), as managed Redis services do:
a single Redis, one found through Sentinel, and a Redis Cluster, with the
server's certificate verified against MOTORHEAD_REDIS_TLS_CA and its name
against the host; mutual TLS with a client certificate; startup errors for
TLS settings that cannot work. The CA and certificates are made by
`openssl` in the test."""

import subprocess
import time
import unittest
import uuid

from harness import (MOTORHEAD, Motorhead, RedisCluster, RedisServer,
                     Sentinel, TestCase, TlsFiles)


def new_session():
    return "tls-" + uuid.uuid4().hex[:12]


class RoundTrips:
    def assert_round_trip(self, server, session=None):
        session = session or new_session()
        status, body, _ = server.post_memory(
            session, [{"role": "Human", "content": "over TLS"}])
        self.assertEqual(status, 200, body)
        self.assertEqual(server.get_memory(session)["messages"],
                         [{"role": "Human", "content": "over TLS"}])
        return session

    def assert_refused(self, server, why):
        status, body, _ = server.post_memory(
            new_session(), [{"role": "Human", "content": "refused"}])
        self.assertEqual(status, 503, body)
        self.assertIn(why, body["error"])


class SingleRedisTlsTest(TestCase, RoundTrips):
    @classmethod
    def setUpClass(cls):
        cls.tls = TlsFiles()
        cls.redis = RedisServer(durable=False, tls=cls.tls)
        cls.redis.start()

    def test_a_verified_connection_serves(self):
        server = Motorhead(self.redis.url, MOTORHEAD_REDIS_TLS_CA=self.tls.ca)
        server.start()
        session = self.assert_round_trip(server)
        self.assertEqual(self.redis.command(
            "EXISTS", f"motorhead:session:{{{session}}}:messages"), 1)

    def test_a_certificate_from_another_ca_is_refused(self):
        other = TlsFiles()
        server = Motorhead(self.redis.url, MOTORHEAD_REDIS_TLS_CA=other.ca)
        server.start()
        self.assert_refused(server, "certificate is not trusted")

    def test_the_system_cas_do_not_trust_a_private_ca(self):
        server = Motorhead(self.redis.url)
        server.start()
        self.assert_refused(server, "certificate is not trusted")

    def test_skipping_verification_is_for_tests(self):
        server = Motorhead(self.redis.url,
                           MOTORHEAD_REDIS_TLS_SKIP_VERIFY="true")
        server.start()
        self.assert_round_trip(server)

    def test_a_connection_redis_closed_while_idle_is_replaced(self):
        """Managed Redis services close idle clients (Redis' `timeout`):
        the next request gets a new connection, not a 503."""
        for tls in (self.tls, None):
            redis = RedisServer(durable=False, tls=tls)
            redis.extra_args = ["--timeout", "1"]
            redis.start()
            server = Motorhead(redis.url, MOTORHEAD_REDIS_TLS_CA=self.tls.ca) \
                if tls else Motorhead(redis.url)
            server.start()
            for _ in range(3):
                self.assert_round_trip(server)
                time.sleep(2.5)
            self.assert_round_trip(server)
            server.stop()

    def test_plain_redis_url_to_a_tls_port_fails_clearly(self):
        server = Motorhead(self.redis.url.replace("rediss://", "redis://"))
        server.start()
        self.assert_refused(server, "Redis")


class CertificateNameTest(TestCase, RoundTrips):
    def test_a_certificate_for_another_host_is_refused(self):
        tls = TlsFiles(server_names=("DNS:redis.elsewhere.test",))
        redis = RedisServer(durable=False, tls=tls)
        redis.start()
        server = Motorhead(redis.url, MOTORHEAD_REDIS_TLS_CA=tls.ca)
        server.start()
        self.assert_refused(server, "certificate is not trusted")


class MutualTlsTest(TestCase, RoundTrips):
    def test_a_redis_that_asks_for_a_client_certificate(self):
        tls = TlsFiles()
        redis = RedisServer(durable=False, tls=tls)
        redis.extra_args = ["--tls-auth-clients", "yes"]
        redis.start()
        without = Motorhead(redis.url, MOTORHEAD_REDIS_TLS_CA=tls.ca)
        without.start()
        self.assert_refused(without, "Redis")
        shown = Motorhead(redis.url, MOTORHEAD_REDIS_TLS_CA=tls.ca,
                          MOTORHEAD_REDIS_TLS_CERT=tls.client_cert,
                          MOTORHEAD_REDIS_TLS_KEY=tls.client_key)
        shown.start()
        self.assert_round_trip(shown)


class TlsStartupErrorsTest(TestCase):
    def start_fails(self, **env):
        done = subprocess.run([MOTORHEAD], env={"PATH": "/usr/bin:/bin", **env},
                              capture_output=True, text=True, timeout=30)
        self.assertNotEqual(done.returncode, 0)
        return done.stderr

    def test_a_missing_ca_file_stops_the_start(self):
        error = self.start_fails(REDIS_URL="rediss://127.0.0.1:6390",
                                 MOTORHEAD_REDIS_TLS_CA="/nonexistent/ca.pem")
        self.assertIn('invalid MOTORHEAD_REDIS_TLS_CA="/nonexistent/ca.pem": '
                      "expected a readable file", error)

    def test_tls_settings_without_rediss_stop_the_start(self):
        error = self.start_fails(REDIS_URL="redis://127.0.0.1:6390",
                                 MOTORHEAD_REDIS_TLS_SKIP_VERIFY="true")
        self.assertIn("REDIS_URL is not rediss://", error)

    def test_a_certificate_without_its_key_stops_the_start(self):
        tls = TlsFiles()
        error = self.start_fails(REDIS_URL="rediss://127.0.0.1:6390",
                                 MOTORHEAD_REDIS_TLS_CERT=tls.client_cert)
        self.assertIn("a client certificate needs its key", error)

    def test_a_key_of_another_certificate_stops_the_start(self):
        tls = TlsFiles()
        error = self.start_fails(REDIS_URL="rediss://127.0.0.1:6390",
                                 MOTORHEAD_REDIS_TLS_CERT=tls.client_cert,
                                 MOTORHEAD_REDIS_TLS_KEY=tls.server_key)
        self.assertIn(f'cannot read the client key "{tls.server_key}"', error)


class SentinelTlsTest(TestCase, RoundTrips):
    def test_the_master_found_through_tls_sentinels(self):
        tls = TlsFiles()
        master = RedisServer(durable=False, tls=tls)
        master.start()
        sentinel = Sentinel(master)
        sentinel.start()
        server = Motorhead("rediss://127.0.0.1", MOTORHEAD_REDIS_TLS_CA=tls.ca,
                           MOTORHEAD_REDIS_SENTINELS=f"127.0.0.1:{sentinel.port}",
                           MOTORHEAD_REDIS_MASTER=sentinel.name)
        server.start()
        session = self.assert_round_trip(server)
        self.assertEqual(master.command(
            "EXISTS", f"motorhead:session:{{{session}}}:messages"), 1)


class ClusterTlsTest(TestCase, RoundTrips):
    def test_every_node_over_tls(self):
        tls = TlsFiles()
        cluster = RedisCluster(masters=3, replicas_each=0, durable=False,
                               tls=tls)
        cluster.start()
        server = Motorhead(cluster.url, MOTORHEAD_REDIS_TLS_CA=tls.ca)
        server.start()
        # A session on every master: each node's connection is verified.
        # (Twelve random sessions miss one of three masters in one run of
        # about 40.)
        by_master = {}
        while len(by_master) < 3:
            session = new_session()
            master = cluster.master_of(f"motorhead:session:{{{session}}}:messages")
            by_master.setdefault(master.port, session)
        for session in by_master.values():
            self.assert_round_trip(server, session)


if __name__ == "__main__":
    unittest.main()
