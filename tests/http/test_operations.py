"""Black-box tests of what operators rely on: GET /metrics in the Prometheus
text format, request ids, and the log in both formats."""

import json
import re
import unittest
import uuid

import prometheus
from harness import Motorhead, RedisServer, TestCase, turn, wait_until

KEY = "k-" + uuid.uuid4().hex
AUTH = {"Authorization": "Bearer " + KEY}
POST_MEMORY = {"route": "/sessions/{id}/memory", "method": "POST",
               "status": "200"}

FAMILIES = [
    "motorhead_http_requests_total", "motorhead_http_request_duration_seconds",
    "motorhead_http_connections", "motorhead_http_refused_connections_total",
    "motorhead_sessions_live", "motorhead_session_loads_total",
    "motorhead_session_idle_stops_total", "motorhead_session_evictions_total",
    "motorhead_folds_queued",
    "motorhead_folds_in_flight", "motorhead_folds_done_total",
    "motorhead_folds_failed_total", "motorhead_fold_duration_seconds",
    "motorhead_provider_calls_total",
    "motorhead_provider_call_duration_seconds",
    "motorhead_provider_tokens_total", "motorhead_redis_round_trips_total",
    "motorhead_redis_commands_total", "motorhead_redis_errors_total",
    "motorhead_redis_redirections_total",
    "motorhead_redis_slot_map_refreshes_total",
    "motorhead_commit_batch_operations", "motorhead_cluster_members",
    "motorhead_forwarded_requests_total", "motorhead_forward_failures_total",
]


def new_session():
    return "o-" + uuid.uuid4().hex


class OperationsTestCase(TestCase):
    """One Redis and one server with an API key, a 1 s idle time and the
    debug log in JSON, for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer(durable=False)
        cls.redis.start()
        cls.server = Motorhead(cls.redis.url, MOTORHEAD_API_KEYS=KEY,
                               MOTORHEAD_SESSION_IDLE_SECONDS=1,
                               MOTORHEAD_LOG_LEVEL="debug",
                               MOTORHEAD_LOG_FORMAT="json")
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.redis.remove()

    def post(self, session, headers=AUTH):
        return self.server.request("POST", f"/sessions/{session}/memory",
                                   {"messages": [turn(0)]}, headers=headers)

    def metrics(self):
        return self.server.metrics(AUTH)


class MetricsTest(OperationsTestCase):

    def test_metrics_need_a_key(self):
        status, text, _ = self.server.scrape()
        self.assertEqual(status, 401)
        self.assertIn("error", json.loads(text))
        status, _, headers = self.server.scrape(
            {"Authorization": "Bearer wrong"})
        self.assertEqual(status, 401)
        status, _, headers = self.server.scrape(AUTH)
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"],
                         "text/plain; version=0.0.4; charset=utf-8")

    def test_the_exposition_is_well_formed_and_complete(self):
        self.post(new_session())
        families = self.metrics()  # parse() checks the format
        for name in FAMILIES:
            self.assertIn(name, families)
            self.assertTrue(families[name]["help"], name)

    def test_requests_count_by_route_template_not_by_path(self):
        before = self.metrics()
        sessions = [new_session(), new_session()]
        for session in sessions:
            self.assertEqual(self.post(session)[0], 200)
        self.server.request("GET", "/no/such/route", headers=AUTH)
        after = self.metrics()
        requests = "motorhead_http_requests_total"
        self.assertEqual(prometheus.value(after, requests, **POST_MEMORY)
                         - prometheus.value(before, requests, **POST_MEMORY),
                         2)
        unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
        self.assertEqual(prometheus.value(after, requests, **unmatched)
                         - prometheus.value(before, requests, **unmatched), 1)
        latency = "motorhead_http_request_duration_seconds_count"
        labels = {"route": "/sessions/{id}/memory", "method": "POST"}
        self.assertEqual(prometheus.value(after, latency, **labels)
                         - prometheus.value(before, latency, **labels), 2)
        text = self.server.scrape(AUTH)[1]
        for session in sessions:
            self.assertNotIn(session, text)
        self.assertNotIn("/no/such/route", text)

    def test_sessions_and_redis_are_counted(self):
        before = self.metrics()
        session = new_session()
        self.assertEqual(self.post(session)[0], 200)
        after = self.metrics()
        for name in ("motorhead_session_loads_total",
                     "motorhead_redis_round_trips_total",
                     "motorhead_redis_commands_total",
                     "motorhead_commit_batch_operations_count"):
            self.assertGreater(prometheus.value(after, name),
                               prometheus.value(before, name), name)
        self.assertGreaterEqual(
            prometheus.value(after, "motorhead_sessions_live"), 1)
        self.assertTrue(wait_until(
            lambda: prometheus.value(self.metrics(),
                                     "motorhead_session_idle_stops_total")
            > prometheus.value(before, "motorhead_session_idle_stops_total"),
            timeout=10))

    def test_folds_are_counted(self):
        before = self.metrics()
        session = new_session()
        status, body, _ = self.server.request(
            "POST", f"/sessions/{session}/memory",
            {"messages": [turn(i) for i in range(20)]}, headers=AUTH)
        self.assertEqual(status, 200, body)
        done = "motorhead_folds_done_total"
        self.assertTrue(wait_until(
            lambda: prometheus.value(self.metrics(), done)
            > prometheus.value(before, done), timeout=10))
        after = self.metrics()
        self.assertGreater(
            prometheus.value(after, "motorhead_fold_duration_seconds_count"),
            prometheus.value(before, "motorhead_fold_duration_seconds_count"))


class RequestIdTest(OperationsTestCase):

    def test_a_valid_request_id_is_echoed(self):
        request_id = "trace-" + uuid.uuid4().hex + ":1/2"
        _, _, headers = self.server.request(
            "GET", "/healthz", headers={"X-Request-Id": request_id})
        self.assertEqual(headers["X-Request-Id"], request_id)

    def test_a_missing_or_invalid_id_is_replaced_by_a_fresh_one(self):
        seen = set()
        for incoming in (None, "", "has spaces", "x" * 129, "quote\"d",
                         "caf\u00e9".encode().decode("latin-1")):
            headers = {} if incoming is None else {"X-Request-Id": incoming}
            _, _, answer = self.server.request("GET", "/healthz",
                                               headers=headers)
            self.assertRegex(answer["X-Request-Id"], r"^[0-9a-f]{32}$")
            seen.add(answer["X-Request-Id"])
        self.assertEqual(len(seen), 6)

    def test_errors_carry_the_request_id_too(self):
        _, _, headers = self.server.request(
            "GET", "/sessions/x/memory", headers={"X-Request-Id": "e-1"})
        self.assertEqual(headers["X-Request-Id"], "e-1")  # the 401


class LogTest(OperationsTestCase):

    def records(self):
        """Every line the server wrote, each a JSON object."""
        lines = self.server.output().splitlines()
        return [json.loads(line) for line in lines]

    def wait_for_record(self, request_id):
        found = []

        def logged():
            found[:] = [r for r in self.records()
                        if r.get("request_id") == request_id]
            return bool(found)
        self.assertTrue(wait_until(logged, timeout=5), self.server.output())
        return found[0]

    def test_every_line_is_a_json_record(self):
        self.post(new_session())
        for record in self.records():
            for field in ("time", "level", "component", "message"):
                self.assertIn(field, record)
            self.assertRegex(record["time"],
                             r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def test_one_debug_line_per_request(self):
        request_id = "log-" + uuid.uuid4().hex
        self.post(new_session(), dict(AUTH, **{"X-Request-Id": request_id}))
        record = self.wait_for_record(request_id)
        self.assertEqual(record["level"], "debug")
        self.assertEqual(record["component"], "http")
        self.assertEqual(record["method"], "POST")
        self.assertEqual(record["route"], "/sessions/{id}/memory")
        self.assertEqual(record["status"], 200)
        self.assertIsInstance(record["duration_ms"], (int, float))

    def test_a_client_error_is_info_with_its_reason(self):
        request_id = "bad-" + uuid.uuid4().hex
        self.server.request("POST", f"/sessions/{new_session()}/memory",
                            raw_body=b"{not json",
                            headers=dict(AUTH, **{"X-Request-Id": request_id}))
        record = self.wait_for_record(request_id)
        self.assertEqual(record["level"], "info")
        self.assertEqual(record["status"], 400)
        self.assertIn("JSON", record["message"])

    def test_keys_and_paths_never_reach_the_log(self):
        wrong_key = "wrong-" + uuid.uuid4().hex
        secret_path = "/" + uuid.uuid4().hex + "/" + KEY
        self.server.request("GET", secret_path, headers=AUTH)
        self.server.request("GET", secret_path + "?api_key=" + KEY)
        self.server.request("GET", "/sessions", headers={
            "Authorization": "Bearer " + wrong_key})
        session = new_session()
        self.post(session)
        self.assertTrue(wait_until(
            lambda: len(self.records()) >= 4, timeout=5))
        output = self.server.output()
        for secret in (KEY, wrong_key, secret_path.split("/")[1]):
            self.assertNotIn(secret, output)


class TextLogTest(TestCase):
    """The default text format: a client's error at info, or at debug when
    MOTORHEAD_LOG_CLIENT_ERRORS says so; nothing of it at warn."""

    def requests_logged(self, **env):
        """Which of a good and a bad request a server with `env` logs, and
        the lines."""
        redis = RedisServer(durable=False)
        redis.start()
        server = Motorhead(redis.url, **env)
        server.start()
        try:
            server.request("GET", "/sessions/ok-1/memory",
                           headers={"X-Request-Id": "quiet-1"})
            server.request("GET", "/nope", headers={"X-Request-Id": "loud-1"})
            server.request("GET", "/", headers={"X-Request-Id": "last-1"})
            # A request answered after the others: their lines are out.
            wait_until(lambda: "last-1" in server.output(), timeout=2)
            return server.output()
        finally:
            server.close()
            redis.remove()

    def test_a_client_error_is_an_info_line(self):
        output = self.requests_logged()
        self.assertNotIn("quiet-1", output)
        line = next(l for l in output.splitlines() if "loud-1" in l)
        self.assertRegex(line, r"^\d{4}-\d\d-\d\dT[\d:.]+Z INFO http: "
                         r"no such route request_id=loud-1 method=GET "
                         r"route=unmatched status=404 duration_ms=[\d.]+$")

    def test_client_errors_at_debug_or_below_warn_are_not_written(self):
        for env in ({"MOTORHEAD_LOG_CLIENT_ERRORS": "debug"},
                    {"MOTORHEAD_LOG_LEVEL": "warn"}):
            with self.subTest(env=env):
                output = self.requests_logged(**env)
                self.assertNotIn("loud-1", output)
                self.assertIn("listening on", output) if not env.get(
                    "MOTORHEAD_LOG_LEVEL") else self.assertNotIn(
                        "listening on", output)

    def test_client_errors_at_debug_show_with_the_debug_level(self):
        output = self.requests_logged(MOTORHEAD_LOG_CLIENT_ERRORS="debug",
                                      MOTORHEAD_LOG_LEVEL="debug")
        self.assertRegex(output, r"DEBUG http: no such route request_id=loud-1")

    def test_an_unknown_level_or_format_stops_the_start(self):
        for env in ({"MOTORHEAD_LOG_LEVEL": "verbose"},
                    {"MOTORHEAD_LOG_FORMAT": "xml"}):
            server = Motorhead("redis://127.0.0.1:1", **env)
            with self.assertRaises(RuntimeError) as failure:
                server.start()
            self.assertIn(next(iter(env)), str(failure.exception))
            server.log.close()


if __name__ == "__main__":
    unittest.main()
