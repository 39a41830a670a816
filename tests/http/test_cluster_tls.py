"""Mutual TLS between the nodes of a cluster: nodes with certificates of
one CA form a cluster over it, and nothing without such a certificate
reaches them; credentials that cannot serve stop a node at start. (Its
own suite, so that the ThreadSanitizer build runs it too.)"""

import itertools
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import prometheus
import test_membership
from harness import (ROGUE_PEER, Motorhead, PortReservation, RedisServer,
                     TestCase, turn, wait_until)
from test_membership import all_see, cluster_view, members, new_session


def make_ca(folder, name):
    """A CA of the test's own: its key and certificate in `folder`."""
    key, cert = f"{folder}/{name}-ca.key", f"{folder}/{name}-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", f"/CN={name} CA"], check=True,
                   capture_output=True)
    return key, cert


def make_node_certificate(folder, name, ca, days=2, usage=None):
    """A node's key and a certificate for it that `ca` signed, valid for
    `days` from now (expired when negative), for the extended key `usage`
    given (say "serverAuth"), else any."""
    ca_key, ca_cert = ca
    key, request, cert = (f"{folder}/{name}.key", f"{folder}/{name}.csr",
                          f"{folder}/{name}.pem")
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", request, "-subj", f"/CN={name}"],
                   check=True, capture_output=True)
    extensions = []
    if usage:
        with open(f"{folder}/{name}.ext", "w") as ext:
            ext.write(f"extendedKeyUsage={usage}\n")
        extensions = ["-extfile", f"{folder}/{name}.ext"]
    subprocess.run(["openssl", "x509", "-req", "-in", request, "-CA", ca_cert,
                    "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
                    "-days", str(days)] + extensions, check=True,
                   capture_output=True)
    return {"MOTORHEAD_CLUSTER_TLS_CERT": cert,
            "MOTORHEAD_CLUSTER_TLS_KEY": key,
            "MOTORHEAD_CLUSTER_TLS_CA": ca_cert}


class MutualTlsTest(TestCase):
    """Nodes with certificates from one CA talk over mutual TLS; a node
    without a certificate from that CA is not let in."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="motorhead-tls-")
        self.addCleanup(shutil.rmtree, self.folder)
        self.ca = make_ca(self.folder, "cluster")
        self.redis = RedisServer()
        self.redis.start()

    def start_node(self, **env):
        node = Motorhead(self.redis.url, MOTORHEAD_CLUSTER_FAILURE_MS=1000,
                         MOTORHEAD_CLUSTER_HEARTBEAT_MS=200, **env)
        node.start()
        return node

    def test_nodes_of_one_ca_form_a_cluster_and_refuse_any_other(self):
        nodes = [self.start_node(**make_node_certificate(self.folder, f"n{i}",
                                                         self.ca))
                 for i in range(2)]
        self.assertTrue(all_see(nodes, 2, timeout=10))
        self.assertIn("mutual TLS", nodes[0].output())
        sessions = [new_session() for _ in range(20)]
        for i, session in enumerate(sessions):  # half of them forwarded
            self.assertEqual(nodes[i % 2].post_memory(session, [turn(i)])[0], 200)
            self.assertEqual(nodes[(i + 1) % 2].get_memory(session)["messages"],
                             [turn(i)])
        self.assertGreater(sum(prometheus.value(
            n.metrics(), "motorhead_forwarded_requests_total") for n in nodes), 0)
        # A node without TLS, and one whose certificate another CA signed,
        # on the same Redis: neither reaches the members, neither joins.
        other_ca = make_ca(self.folder, "other")
        strangers = [self.start_node(),
                     self.start_node(**make_node_certificate(
                         self.folder, "stranger", other_ca))]
        for stranger in strangers:
            self.assertTrue(wait_until(
                lambda: "cannot reach" in cluster_view(stranger).get(
                    "waiting_for", ""), timeout=10), stranger.output())
            self.assertEqual(stranger.request("GET", "/readyz")[0], 503)
        # A process speaking the cluster protocol gets no connection
        # without a certificate from the cluster's CA; with one, it still
        # is no member.
        host, port = cluster_view(nodes[0])["node"].rsplit(":", 1)

        def rogue_attempts(certificate):
            options = [f"--openssl.certificate={certificate['MOTORHEAD_CLUSTER_TLS_CERT']}",
                       f"--openssl.key={certificate['MOTORHEAD_CLUSTER_TLS_KEY']}",
                       f"--openssl.cafile={certificate['MOTORHEAD_CLUSTER_TLS_CA']}"
                       ] if certificate else []
            lines = subprocess.run([ROGUE_PEER, host, port, sessions[0]] + options,
                                   check=True, capture_output=True, text=True,
                                   timeout=60).stdout.splitlines()
            return dict(line.split(": ", 1) for line in lines)

        for certificate in (None, make_node_certificate(self.folder, "rogue",
                                                        other_ca)):
            self.assertTrue(rogue_attempts(certificate)["connect"].startswith(
                "failed"))
        insider = rogue_attempts(make_node_certificate(self.folder, "insider",
                                                       self.ca))
        self.assertEqual(insider["heartbeat"], "served")
        self.assertTrue(insider["read"].startswith("refused"), insider)
        # Through all of it the members kept their connection.
        for node in nodes:
            self.assertEqual(len(members(node)), 2, node.output()[-3000:])
            self.assertNotIn("declared dead", node.output())
        for i, session in enumerate(sessions):
            self.assertEqual(nodes[0].get_memory(session)["messages"], [turn(i)])

    def test_credentials_changed_after_start_change_nothing(self):
        """The files are read at start: moved away or rotated in place
        while the nodes run, connections go on as before."""
        folders = [tempfile.mkdtemp(prefix="motorhead-tls-node-")
                   for _ in range(2)]
        for folder in folders:
            self.addCleanup(shutil.rmtree, folder, True)
        nodes = [self.start_node(**make_node_certificate(folder, "n", self.ca))
                 for folder in folders]
        self.assertTrue(all_see(nodes, 2, timeout=10))
        shutil.rmtree(folders[0])
        with open(f"{folders[1]}/n.pem", "w") as rotated:
            rotated.write("half a certificate")
        host, port = cluster_view(nodes[0])["node"].rsplit(":", 1)
        for node in nodes:  # a connection that makes CAF load them again
            host, port = cluster_view(node)["node"].rsplit(":", 1)
            socket.create_connection((host, int(port)), timeout=5).close()
        newcomer = self.start_node(**make_node_certificate(self.folder, "n3",
                                                           self.ca))
        self.assertTrue(all_see(nodes + [newcomer], 3, timeout=10),
                        nodes[0].output()[-2000:])
        for node in nodes:
            self.assertIsNone(node.process.poll(), node.output()[-2000:])
        session = new_session()
        self.assertEqual(nodes[0].post_memory(session, [turn(1)])[0], 200)
        for node in nodes + [newcomer]:
            self.assertEqual(node.get_memory(session)["messages"], [turn(1)])

    def test_strangers_holding_every_file_descriptor_stop_nothing(self):
        """Connections without a certificate, held open until the node has
        no file descriptor left, cost it no more than those connections."""
        nodes = [Motorhead(self.redis.url, open_files=256,
                           MOTORHEAD_CLUSTER_FAILURE_MS=1000,
                           MOTORHEAD_CLUSTER_HEARTBEAT_MS=200,
                           **make_node_certificate(self.folder, f"f{i}", self.ca))
                 for i in range(2)]
        for node in nodes:
            node.start()
        self.assertTrue(all_see(nodes, 2, timeout=10))
        host, port = cluster_view(nodes[0])["node"].rsplit(":", 1)
        held = []
        try:
            for _ in range(400):
                try:
                    held.append(socket.create_connection((host, int(port)),
                                                         timeout=2))
                except OSError:
                    break
            time.sleep(2)
        finally:
            for connection in held:
                connection.close()
        self.assertIsNone(nodes[0].process.poll(), nodes[0].output()[-2000:])
        newcomer = self.start_node(**make_node_certificate(self.folder, "f2",
                                                           self.ca))
        self.assertTrue(all_see(nodes + [newcomer], 3, timeout=15),
                        nodes[0].output()[-2000:])

    def test_tls_credentials_that_cannot_serve_stop_the_node_at_start(self):
        own = make_node_certificate(self.folder, "n", self.ca)
        other = make_node_certificate(self.folder, "o",
                                      make_ca(self.folder, "other"))
        expired = make_node_certificate(self.folder, "x", self.ca, days=-1)
        cases = [
            ({"MOTORHEAD_CLUSTER_TLS_CERT": own["MOTORHEAD_CLUSTER_TLS_CERT"]},
             "go together"),
            ({**own, "MOTORHEAD_CLUSTER_TLS_CA": "/nonexistent-ca.pem"},
             'invalid MOTORHEAD_CLUSTER_TLS_CA="/nonexistent-ca.pem": '
             "expected a readable file"),
            ({**own, "MOTORHEAD_CLUSTER_TLS_CA": own["MOTORHEAD_CLUSTER_TLS_KEY"]},
             "MOTORHEAD_CLUSTER_TLS_CA: no PEM certificate"),
            ({**own, "MOTORHEAD_CLUSTER_TLS_CERT": own["MOTORHEAD_CLUSTER_TLS_KEY"]},
             "MOTORHEAD_CLUSTER_TLS_CERT: no PEM certificate"),
            ({**own, "MOTORHEAD_CLUSTER_TLS_KEY": other["MOTORHEAD_CLUSTER_TLS_KEY"]},
             "key values mismatch"),
            ({**other, "MOTORHEAD_CLUSTER_TLS_CA": self.ca[1]},
             "is not valid for the CA"),
            (expired, "certificate has expired"),
            (make_node_certificate(self.folder, "s", self.ca, usage="serverAuth"),
             "as a TLS client"),
        ]
        for env, why in cases:
            node = Motorhead(self.redis.url, **env)
            with self.assertRaises(RuntimeError) as failed:
                node.start()
            self.assertIn(why, str(failed.exception))


class TableFaultsOverTlsTest(test_membership.TableFaultsTest):
    """The table's faults again, every node on mutual TLS: there one
    connection joins each pair of nodes, the joiner makes it, and a member
    connects back once to check the address a joiner advertises."""

    def setUp(self):
        super().setUp()
        self.folder = tempfile.mkdtemp(prefix="motorhead-tls-")
        self.addCleanup(shutil.rmtree, self.folder)
        self.ca = make_ca(self.folder, "cluster")
        self.names = itertools.count()

    def start_node(self, redis_url=None, **env):
        certificate = make_node_certificate(self.folder,
                                            f"n{next(self.names)}", self.ca)
        return super().start_node(redis_url, **certificate, **env)

    def test_a_joiner_advertising_a_lower_address_nobody_reaches_is_not_admitted(self):
        # The joiner makes every connection; its address sorts below the
        # members', so no member would ever connect to it, but later
        # joiners would: the members check it all the same.
        member = self.start_node()
        self.assertTrue(wait_until(lambda: len(members(member)) == 1, timeout=10))
        self.start_stranded("0.0.0.1")
        newcomer = self.start_node()
        self.assertTrue(wait_until(
            lambda: newcomer.request("GET", "/readyz")[0] == 200, timeout=15),
            newcomer.output()[-2000:])

    def test_a_namesake_takes_no_members_connection(self):
        nodes = [self.start_node(), self.start_node()]
        self.assertTrue(all_see(nodes, 2, timeout=10))
        address = cluster_view(nodes[1])["node"]
        port = PortReservation()
        self.addCleanup(port.release)
        namesake = self.start_node(MOTORHEAD_CLUSTER_ADVERTISE=address,
                                   MOTORHEAD_CLUSTER_PORT=port.port)
        self.assertTrue(wait_until(
            lambda: "advertises this node's address" in cluster_view(
                namesake).get("waiting_for", ""), timeout=10))
        time.sleep(2)  # ten heartbeats of the namesake
        connected = [line for line in nodes[0].output().splitlines()
                     if f"{address} connected" in line]
        self.assertEqual(len(connected), 1, connected)
        self.assertEqual(len(members(nodes[0])), 2)


if __name__ == "__main__":
    unittest.main()
