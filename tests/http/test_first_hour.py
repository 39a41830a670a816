"""An operator's first hour: a start that tells the truth when Redis is down,
settings refused with a message that names the variable and what it allows,
and a version to report."""

import datetime
import json
import os
import re
import socket
import subprocess
import threading
import time
import unittest
import uuid

from harness import (MOTORHEAD, Motorhead, RedisServer, TcpProxy, TestCase,
                     resp_command, wait_until)
from prometheus import value

OPENAPI = os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                       "openapi.yaml")
MESSAGE = {"messages": [{"role": "Human", "content": "hello"}]}


def log_time(line):
    stamp = line.split(" ", 1)[0]
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")


def new_session():
    return "first-hour-" + uuid.uuid4().hex


def lines_with(output, text):
    return [line for line in output.splitlines() if text in line]


class RedisDownAtStartTest(TestCase):
    """Redis refuses connections when the server starts, then comes up."""

    def test_the_log_says_so_at_once_and_readyz_waits_for_redis(self):
        redis = RedisServer(durable=False)  # its port held, nothing serving
        server = Motorhead(redis.url)
        server.start()
        said = lambda: lines_with(server.output(),
                                  "ERROR persistence: Redis is unreachable")
        self.assertTrue(wait_until(said, timeout=5), server.output())
        listening = lines_with(server.output(), "listening on")[0]
        self.assertLess(
            (log_time(said()[0]) - log_time(listening)).total_seconds(), 1.0)

        status, body, headers = server.request("GET", "/readyz")
        self.assertEqual(status, 503)
        self.assertEqual(headers.get("Retry-After"), "1")
        self.assertIn("Redis is unreachable", body["error"])
        for _ in range(5):
            status, body, headers = server.request(
                "POST", f"/sessions/{new_session()}/memory", MESSAGE)
            self.assertEqual(status, 503, body)
            self.assertEqual(headers.get("Retry-After"), "1")
        time.sleep(2)  # heartbeats read the membership table meanwhile

        output = server.output()
        self.assertNotIn("Redis is unreachable: Redis is unreachable", output)
        self.assertNotIn("motorhead error", output)
        # One line per burst: the outage, the table it keeps the node from
        # reading, and the 503s it causes; not one per round trip or request.
        self.assertEqual(len(said()), 1, output)
        self.assertEqual(
            len(lines_with(output, "WARN cluster: cannot read the membership")),
            1,
            output)
        self.assertEqual(len(lines_with(output, "status=503")), 1, output)

        redis.start()
        self.assertTrue(wait_until(
            lambda: server.request("GET", "/readyz")[0] == 200, timeout=15),
            server.output())
        # The probe says so (the outage's own end is said once Redis has
        # answered for a quiet spell: tests/unit/log_test.cpp).
        self.assertTrue(wait_until(lambda: lines_with(
            server.output(), f"Redis at 127.0.0.1:{redis.port} answers"),
            timeout=35), server.output())
        status, _, _ = server.request(
            "POST", f"/sessions/{new_session()}/memory", MESSAGE)
        self.assertEqual(status, 200)
        server.close()


    def test_a_stop_while_the_probe_waits_is_prompt(self):
        redis = RedisServer(durable=False)
        server = Motorhead(redis.url)
        server.start()
        time.sleep(2)  # the probe's attempts at 0, 0.25, 0.75 and 1.75 s
        redis.start()
        self.assertTrue(wait_until(
            lambda: server.request("GET", "/readyz")[0] == 200, timeout=15),
            server.output())
        # The probe's next attempt is seconds away: the stop does not wait
        # for it, nor does it leave the probe asking forever.
        started = time.monotonic()
        self.assertEqual(server.stop(), 0, server.output())
        self.assertLess(time.monotonic() - started, 5)


class RedisOutageTest(TestCase):
    """Redis goes away under a running single node, and comes back."""

    def test_the_outage_and_its_end_are_said_when_they_happen(self):
        redis = RedisServer(durable=False)
        redis.start()
        server = Motorhead(redis.url, MOTORHEAD_CLUSTER_HEARTBEAT_MS="100",
                           MOTORHEAD_CLUSTER_LEASE_MS="300",
                           MOTORHEAD_CLUSTER_FAILURE_MS="500")
        server.start()
        status, _, _ = server.post_memory(new_session(), MESSAGE["messages"])
        self.assertEqual(status, 200)
        redis.stop()
        self.assertTrue(wait_until(
            lambda: "cannot read the membership table in Redis"
                    in str(server.request("GET", "/readyz")[1]), timeout=10),
            server.output())
        # Alone: there is nobody to forward to.
        status, body, _ = server.request("GET", "/readyz")
        self.assertEqual(status, 503)
        self.assertNotIn("other members", body["error"])
        self.assertNotIn("among the others", server.output())

        redis.start()
        self.assertTrue(wait_until(
            lambda: server.request("GET", "/readyz")[0] == 200, timeout=15),
            server.output())
        # Said with the first answer, not after a quiet spell.
        self.assertTrue(wait_until(
            lambda: lines_with(server.output(),
                               "INFO persistence: Redis answers again"),
            timeout=3), server.output())
        server.close()


class NotRedisTest(TestCase):
    """REDIS_URL names a server that is not Redis, or one that never
    answers: the log says which, in words."""

    def serve(self, answer):
        """A listening socket on 127.0.0.1 that sends `answer` to each
        connection (nothing: it never answers); its port."""
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        self.addCleanup(listener.close)
        held = []
        self.addCleanup(lambda: [c.close() for c in held])

        def accept():
            while True:
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                held.append(connection)
                if answer:
                    connection.sendall(answer)
        if answer:
            threading.Thread(target=accept, daemon=True).start()
        return listener.getsockname()[1]

    def test_a_server_that_is_not_redis(self):
        port = self.serve(b"HTTP/1.1 400 Bad Request\r\n\r\n<html>")
        server = Motorhead(f"redis://127.0.0.1:{port}")
        server.start()
        said = lambda: lines_with(server.output(), "is it a Redis server?")
        self.assertTrue(wait_until(said, timeout=5), server.output())
        self.assertIn('Protocol error, got "H" as reply type byte', said()[0])
        self.assertNotIn("Protocol error: Protocol error", server.output())
        server.close()

    def test_a_server_that_never_answers(self):
        port = self.serve(None)
        server = Motorhead(f"redis://127.0.0.1:{port}",
                           MOTORHEAD_REDIS_TIMEOUT_MS="500")
        server.start()
        said = lambda: lines_with(server.output(), "no answer within 500 ms")
        self.assertTrue(wait_until(said, timeout=5), server.output())
        status, body, _ = server.request("GET", "/readyz")
        self.assertEqual(status, 503)
        output = server.output()
        self.assertNotIn("Resource temporarily unavailable", output)
        self.assertNotIn("system_error", output)
        server.close()


class RedisCredentialsTest(TestCase):
    """REDIS_URL's user and password, percent-encoded as the original's
    Redis client reads them."""

    def test_a_user_and_an_encoded_password(self):
        redis = RedisServer(durable=False)
        redis.extra_args = ["--user", "app", "on", ">p@ss:w/rd%", "~*", "&*",
                            "+@all"]
        redis.start()
        server = Motorhead(
            f"redis://app:p%40ss%3Aw%2Frd%25@127.0.0.1:{redis.port}")
        server.start()
        status, _, _ = server.post_memory(new_session(), MESSAGE["messages"])
        self.assertEqual(status, 200, server.output())
        clients = redis.command("CLIENT", "LIST")
        self.assertIn("user=app", clients)
        server.close()

    def test_a_user_on_a_redis_before_users(self):
        # An old URL with a name before the password (Heroku's
        # redis://h:pw@...): the password alone, as the original's client.
        redis = RedisServer(durable=False, password="pw-" + uuid.uuid4().hex)
        redis.start()
        proxy = TcpProxy(redis.port, requests=as_redis_before_users)
        self.addCleanup(proxy.close)
        server = Motorhead(f"redis://h:{redis.password}@127.0.0.1:{proxy.port}")
        server.start()
        status, _, _ = server.post_memory(new_session(), MESSAGE["messages"])
        self.assertEqual(status, 200, server.output())
        server.close()

    def test_no_auth_without_a_password(self):
        redis = RedisServer(durable=False)
        redis.start()
        for url in (f"redis://app@127.0.0.1:{redis.port}",
                    f"redis://app:@127.0.0.1:{redis.port}"):
            with self.subTest(url=url):
                server = Motorhead(url)
                server.start()
                status, _, _ = server.post_memory(new_session(),
                                                  MESSAGE["messages"])
                self.assertEqual(status, 200, server.output())
                server.close()


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@unittest.skipUnless(has_ipv6_loopback(), "no IPv6 loopback on this machine")
class IPv6ClusterTest(TestCase):
    """Nodes whose cluster port is on an IPv6 address name themselves with
    it in brackets, in the log, the membership and /cluster, and meet."""

    def test_nodes_on_ipv6_meet_and_forward(self):
        redis = RedisServer(durable=False)
        redis.start()
        nodes = [Motorhead(redis.url, MOTORHEAD_CLUSTER_HOST="::1")
                 for _ in range(2)]
        for node in nodes:
            node.start()

        def members(node):
            return node.request("GET", "/cluster",
                                headers=node.operator_headers())[1]["members"]
        self.assertTrue(wait_until(
            lambda: all(len(members(node)) == 2 for node in nodes),
            timeout=20), nodes[0].output())
        for name in members(nodes[0]):
            self.assertRegex(name, r"^\[::1\]:\d+$")
        self.assertRegex(nodes[0].output(),
                         r"cluster port \[::1\]:\d+, reached at \[::1\]:\d+")
        # Sessions owned by either node, written through one and read
        # through the other.
        sessions = [new_session() for _ in range(8)]
        for session in sessions:
            status, _, _ = nodes[0].post_memory(session, MESSAGE["messages"])
            self.assertEqual(status, 200)
        for session in sessions:
            status, body, _ = nodes[1].request(
                "GET", f"/sessions/{session}/memory")
            self.assertEqual((status, body["messages"][0]["content"]),
                             (200, "hello"))
        for node in nodes:
            node.close()


def read_command(stream):
    """One RESP command (an array of bulk strings) from `stream`, or None
    at its end."""
    header = stream.readline()
    if not header:
        return None
    args = []
    for _ in range(int(header[1:])):
        size = int(stream.readline()[1:])
        args.append(stream.read(size + 2)[:-2])
    return args


def as_redis_before_users(commands):
    """A client's commands as a Redis before 6 answers them: AUTH with a
    user's name becomes a bare AUTH, which Redis 7 refuses with "wrong
    number of arguments" as Redis 5 refused the two-argument form."""
    while (args := read_command(commands)) is not None:
        if args[0].upper() == b"AUTH" and len(args) == 3:
            args = [b"AUTH"]
        yield resp_command(args)


class SettingsTest(TestCase):
    """Every kind of bad setting stops the start with a message naming the
    variable and what it allows."""

    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer(durable=False)
        cls.redis.start()

    def refused(self, env, expected):
        server = Motorhead(self.redis.url, **env)
        with self.assertRaises(RuntimeError) as failure:
            server.start()
        self.assertIn(expected, str(failure.exception))
        return str(failure.exception)

    def test_each_kind_of_bad_setting(self):
        cases = [
            ({"MOTORHEAD_HOST": "local host"},
             'invalid MOTORHEAD_HOST="local host": expected an IP address '
             '(such as 0.0.0.0 or ::) or a host name'),
            ({"OPENAI_API_BASE": "notaurl"},
             # Not repeated: the URL may hold a password.
             "invalid OPENAI_API_BASE: expected an http:// or https:// URL"),
            ({"AZURE_API_KEY": "secret"},
             "Azure OpenAI is partly configured: AZURE_API_BASE and "
             "AZURE_DEPLOYMENT_ID are missing"),
            ({"MOTORHEAD_SUMMARY_PROMPT_FILE": "/nonexistent/prompt.txt"},
             'invalid MOTORHEAD_SUMMARY_PROMPT_FILE="/nonexistent/prompt.txt":'
             ' expected a readable file: No such file or directory'),
            ({"MOTORHEAD_TOKENIZER": "gpt2"},
             'invalid MOTORHEAD_TOKENIZER="gpt2": expected cl100k_base, '
             'o200k_base or p50k_base'),
            ({"MOTORHEAD_LOG_FORMAT": "xml"},
             'invalid MOTORHEAD_LOG_FORMAT="xml": expected text or json'),
            ({"MOTORHEAD_MAX_WINDOW_SIZE": "1"},
             'invalid MOTORHEAD_MAX_WINDOW_SIZE="1": expected a whole number '
             'from 2 to 10000'),
            ({"MOTORHEAD_CORS_ORIGINS": "https://app.example.com/"},
             "no path, no trailing slash"),
            ({"MOTORHEAD_LONG_TERM_MEMORY": "On"},
             'invalid MOTORHEAD_LONG_TERM_MEMORY="On": expected true or false '
             '(also 1 or 0, yes or no; any case)'),
        ]
        for env, expected in cases:
            with self.subTest(env=env):
                self.refused(env, expected)

    def test_an_invalid_azure_variable_is_not_also_called_missing(self):
        said = self.refused(
            {"AZURE_API_KEY": "k", "AZURE_API_BASE": "notaurl",
             "AZURE_DEPLOYMENT_ID": "chat"},
            "invalid AZURE_API_BASE: expected an http:// or https:// URL")
        self.assertNotIn("partly configured", said)

    def test_a_port_in_use_is_named(self):
        first = Motorhead(self.redis.url)
        first.start()
        self.refused({"PORT": str(first.port)},
                     f"cannot listen on 127.0.0.1:{first.port} (MOTORHEAD_HOST "
                     "and PORT): Address already in use")
        first.close()

    def test_names_and_any_case_are_taken(self):
        server = Motorhead(self.redis.url, MOTORHEAD_HOST="localhost",
                           MOTORHEAD_LOG_FORMAT="JSON",
                           MOTORHEAD_LOG_LEVEL="Info")
        server.start()
        self.assertIn(f'listening on localhost:{server.port}', server.output())
        self.assertTrue(server.output().startswith("{"))
        server.close()

    def test_the_configuration_reference_lists_what_the_server_checks(self):
        script = os.path.join(os.path.dirname(__file__), "..", "..",
                              "scripts", "config-reference")
        checked = subprocess.run([script, "--check", MOTORHEAD],
                                 capture_output=True, text=True)
        self.assertEqual(checked.returncode, 0, checked.stderr)

    def test_an_unknown_variable_is_named_with_the_closest_setting(self):
        server = Motorhead(self.redis.url, MOTORHEAD_MAX_WINDOW="3")
        server.start()
        self.assertIn("WARN main: unknown variable MOTORHEAD_MAX_WINDOW is "
                      "ignored (did you mean MOTORHEAD_MAX_WINDOW_SIZE?)",
                      server.output())
        server.close()


class SettingsRouteTest(TestCase):
    """GET /settings: every setting in effect, no secret in it."""

    def test_secrets_are_hidden_and_operators_only(self):
        redis = RedisServer(durable=False, password="redis-pw-" + uuid.uuid4().hex)
        redis.start()
        admin, tenant = "adm-" + uuid.uuid4().hex, "ten-" + uuid.uuid4().hex
        provider_key = "sk-" + uuid.uuid4().hex
        server = Motorhead(f"redis://:{redis.password}@127.0.0.1:{redis.port}",
                           MOTORHEAD_API_KEYS=f"{admin},{tenant}:team",
                           OPENAI_API_KEY=provider_key,
                           OPENAI_API_BASE="http://127.0.0.1:9/v1",
                           MOTORHEAD_MAX_WINDOW_SIZE="8")
        server.start()
        status, body, _ = server.request(
            "GET", "/settings", headers={"Authorization": f"Bearer {admin}"})
        self.assertEqual(status, 200, body)
        shown = {s["name"]: (s["value"], s["set"]) for s in body["settings"]}
        self.assertEqual(shown["REDIS_URL"],
                         (f"redis://(hidden)@127.0.0.1:{redis.port}", True))
        self.assertEqual(shown["MOTORHEAD_API_KEYS"], ("2 keys (hidden)", True))
        self.assertEqual(shown["OPENAI_API_KEY"], ("(hidden)", True))
        self.assertEqual(shown["MOTORHEAD_MAX_WINDOW_SIZE"], ("8", True))
        self.assertEqual(shown["MOTORHEAD_LOG_FORMAT"], ("text", False))
        self.assertEqual(body["version"],
                         server.request("GET", "/healthz")[1]["version"])
        text = json.dumps(body)
        for secret in (redis.password, admin, tenant, provider_key):
            self.assertNotIn(secret, text)
        self.assertEqual(server.request(
            "GET", "/settings",
            headers={"Authorization": f"Bearer {tenant}"})[0], 403)
        self.assertEqual(server.request("GET", "/settings")[0], 401)
        server.close()


class VersionTest(TestCase):
    """One version: --version, the log, /healthz and /metrics say the one
    the OpenAPI document and CMake give."""

    def test_every_place_says_the_same_version(self):
        with open(OPENAPI) as spec:
            documented = re.search(r"^  version: (\S+)$", spec.read(),
                                   re.M).group(1)
        printed = subprocess.run([MOTORHEAD, "--version"], capture_output=True,
                                 text=True, check=True).stdout.strip()
        match = re.fullmatch(
            r"motorhead (\S+) \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)",
            printed)
        self.assertIsNotNone(match, printed)
        self.assertEqual(match.group(1), documented)

        redis = RedisServer(durable=False)
        redis.start()
        server = Motorhead(redis.url)
        server.start()
        self.assertIn(f"INFO main: {printed} listening on", server.output())
        status, body, headers = server.request("GET", "/healthz")
        self.assertEqual(body, {"status": "Ok", "version": documented})
        self.assertNotIn(documented, headers.get("Server", ""))

        families = server.metrics()
        self.assertEqual(value(families, "motorhead_build_info",
                               version=documented, commit=match.group(2)), 1)
        self.assertGreater(value(families, "process_resident_memory_bytes"),
                           1 << 20)
        self.assertGreater(value(families, "process_cpu_seconds_total"), 0)
        self.assertGreater(value(families, "process_open_fds"), 3)
        self.assertGreaterEqual(value(families, "process_max_fds"),
                                value(families, "process_open_fds"))
        self.assertLess(abs(value(families, "process_start_time_seconds")
                            - time.time()), 120)
        server.close()


if __name__ == "__main__":
    unittest.main()
