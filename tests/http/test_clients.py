"""Black-box tests of the forms real clients use over HTTP: n8n's
/motorhead prefix and credential test (GET /keys/current), the Metal SDK's
x-metal-api-key header, Flowise's `data` envelope, and a key in the path for
clients that cannot send headers; the OpenAPI document."""

import http.client
import json
import unittest
import uuid

from jsonschema import Draft202012Validator

import openapi_check
from harness import Motorhead, RedisServer, TestCase, role_and_content, turn

KEYS = ["k-" + uuid.uuid4().hex, "k-" + uuid.uuid4().hex]


def new_session():
    return "c-" + uuid.uuid4().hex


class ClientTestCase(TestCase):
    server_env = {}

    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer(durable=False)
        cls.redis.start()
        cls.server = Motorhead(cls.redis.url, MOTORHEAD_LOG_LEVEL="debug",
                               **cls.server_env)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.redis.remove()

    def post(self, path, messages, headers=None):
        return self.server.request("POST", path, {"messages": messages},
                                   headers=headers)


class PrefixAndEnvelopeTest(ClientTestCase):

    def test_every_route_is_served_under_motorhead(self):
        session = new_session()
        status, body, _ = self.post(f"/motorhead/sessions/{session}/memory",
                                    [turn(0), turn(1)])
        self.assertEqual((status, body), (200, {"status": "Ok"}))
        plain = self.server.get_memory(session, details=True)
        status, prefixed, _ = self.server.request(
            "GET", f"/motorhead/sessions/{session}/memory")
        self.assertEqual(status, 200)
        prefixed.pop("data")
        self.assertEqual(prefixed, plain)
        self.assertEqual(self.server.request("GET", "/motorhead/healthz")[0],
                         200)
        self.assertEqual(self.server.request("GET", "/motorhead")[0], 200)
        status, _, _ = self.server.request(
            "DELETE", f"/motorhead/sessions/{session}/memory")
        self.assertEqual(status, 200)
        self.assertEqual(self.server.get_memory(session)["messages"], [])

    def test_keys_current_answers_the_credential_test(self):
        for path in ("/keys/current", "/motorhead/keys/current"):
            with self.subTest(path=path):
                status, body, _ = self.server.request("GET", path)
                self.assertEqual(status, 200, body)
                self.assertEqual(body["status"], "Ok")
                # Long-term memory is off here: no retrieval to offer.
                self.assertIs(body["retrieval"], False)

    def test_get_memory_carries_a_data_envelope(self):
        session = new_session()
        self.post(f"/sessions/{session}/memory", [turn(0)])
        _, body, _ = self.server.request("GET", f"/sessions/{session}/memory")
        self.assertEqual(body["data"], {"messages": body["messages"],
                                        "context": body["context"],
                                        "tokens": body["tokens"]})
        self.assertEqual(role_and_content(body["data"]["messages"]), [turn(0)])

    def test_a_look_alike_prefix_is_not_a_route(self):
        for path in ("/motorheads/sessions/a/memory",
                     "/motorhead/motorhead/sessions/a/memory",
                     "/sessions/a/memory/motorhead"):
            with self.subTest(path=path):
                self.assertEqual(self.server.request("GET", path)[0], 404)


class EnvelopeOffTest(ClientTestCase):
    server_env = {"MOTORHEAD_DATA_ENVELOPE": "false"}

    def test_the_envelope_can_be_turned_off(self):
        session = new_session()
        self.post(f"/sessions/{session}/memory", [turn(0)])
        _, body, _ = self.server.request("GET", f"/sessions/{session}/memory")
        body["messages"] = role_and_content(body["messages"])
        self.assertEqual(body, {"messages": [turn(0)], "context": None,
                                "tokens": 0})


class ClientKeysTest(ClientTestCase):
    server_env = {"MOTORHEAD_API_KEYS": ",".join(KEYS)}

    def test_the_metal_header_carries_a_key(self):
        session = new_session()
        headers = {"x-metal-api-key": KEYS[1], "x-metal-client-id": "client"}
        self.assertEqual(self.post(f"/sessions/{session}/memory", [turn(0)],
                                   headers)[0], 200)
        status, body, _ = self.server.request(
            "GET", f"/sessions/{session}/memory", headers=headers)
        self.assertEqual((status, role_and_content(body["messages"])),
                         (200, [turn(0)]))
        status, _, _ = self.server.request(
            "GET", f"/sessions/{session}/memory",
            headers={"x-metal-api-key": "wrong"})
        self.assertEqual(status, 401)

    def test_a_key_in_the_path_opens_every_route(self):
        session = new_session()
        for base in (f"/key/{KEYS[0]}", f"/motorhead/key/{KEYS[0]}",
                     f"/key/{KEYS[0]}/motorhead"):
            with self.subTest(base=base):
                self.assertEqual(self.post(f"{base}/sessions/{session}/memory",
                                           [turn(0)])[0], 200)
                status, body, _ = self.server.request(
                    "GET", f"{base}/sessions/{session}/memory")
                self.assertEqual(status, 200)
                self.assertEqual(self.server.request(
                    "GET", f"{base}/keys/current")[0], 200)

    def test_a_wrong_or_missing_key_is_refused(self):
        for path in ("/keys/current", "/motorhead/keys/current",
                     "/key/wrong/keys/current", "/key//keys/current",
                     "/key/wrong/sessions/a/memory"):
            with self.subTest(path=path):
                status, body, _ = self.server.request("GET", path)
                self.assertEqual(status, 401, body)
        status, _, _ = self.server.request(
            "GET", "/keys/current", headers={"Authorization": "Bearer " + KEYS[1]})
        self.assertEqual(status, 200)

    def test_a_key_in_the_path_is_never_echoed_or_logged(self):
        for path, status in ((f"/key/{KEYS[0]}/no/such/route", 404),
                             (f"/key/{KEYS[0]}/sessions", 200),
                             (f"/key/{KEYS[0]}/keys/current", 200)):
            code, body, _ = self.server.request("GET", path)
            self.assertEqual(code, status, body)
            self.assertNotIn(KEYS[0], str(body))
        code, body, _ = self.server.request(
            "PUT", f"/key/{KEYS[0]}/sessions/a/memory")
        self.assertEqual(code, 405)
        self.assertNotIn(KEYS[0], str(body))
        self.assertNotIn(KEYS[0], self.server.output())
        self.assertNotIn(KEYS[0], self.server.scrape(
            {"x-metal-api-key": KEYS[0]})[1])


class CorsTest(ClientTestCase):
    APP = "https://app.example"
    server_env = {"MOTORHEAD_API_KEYS": KEYS[0],
                  "MOTORHEAD_CORS_ORIGINS": f"{APP}, https://other.example"}

    def test_a_preflight_needs_no_key_and_lists_what_is_allowed(self):
        status, _, headers = self.raw("OPTIONS", "/sessions/a/memory", {
            "Origin": self.APP, "Access-Control-Request-Method": "POST"})
        self.assertEqual(status, 204)
        self.assertEqual(headers["Access-Control-Allow-Origin"], self.APP)
        self.assertEqual(headers["Access-Control-Allow-Methods"],
                         "GET, POST, DELETE")
        allowed = headers["Access-Control-Allow-Headers"].lower()
        for header in ("content-type", "authorization", "x-metal-api-key",
                       "x-metal-client-id"):
            self.assertIn(header, allowed)
        self.assertIn("Origin", headers["Vary"])

    def test_a_preflight_from_another_origin_is_refused(self):
        status, body, headers = self.raw("OPTIONS", "/sessions/a/memory", {
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST"})
        self.assertEqual(status, 403)
        self.assertIn("origin", body)
        self.assertNotIn("Access-Control-Allow-Origin", headers)

    def test_answers_to_an_allowed_origin_carry_the_headers(self):
        session = new_session()
        status, _, headers = self.server.request(
            "POST", f"/sessions/{session}/memory", {"messages": [turn(0)]},
            headers={"Origin": self.APP, "x-metal-api-key": KEYS[0]})
        self.assertEqual(status, 200)
        self.assertEqual(headers["Access-Control-Allow-Origin"], self.APP)
        self.assertIn("X-Request-Id",
                      headers["Access-Control-Expose-Headers"])
        # A page must be able to read a 401 too, to ask for a key.
        status, _, headers = self.server.request(
            "GET", f"/sessions/{session}/memory", headers={"Origin": self.APP})
        self.assertEqual(status, 401)
        self.assertEqual(headers["Access-Control-Allow-Origin"], self.APP)
        for origin in ({}, {"Origin": "https://evil.example"}):
            _, _, headers = self.server.request(
                "GET", "/healthz", headers=origin)
            self.assertNotIn("Access-Control-Allow-Origin", headers)

    def raw(self, method, path, headers):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port,
                                          timeout=10)
        try:
            conn.request(method, path, headers=headers)
            response = conn.getresponse()
            return (response.status, response.read().decode(),
                    dict(response.getheaders()))
        finally:
            conn.close()


class CorsOffTest(ClientTestCase):

    def test_without_origins_there_is_no_cors(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port,
                                          timeout=10)
        conn.request("OPTIONS", "/sessions/a/memory", headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST"})
        response = conn.getresponse()
        response.read()
        conn.close()
        self.assertEqual(response.status, 405)
        self.assertIsNone(response.getheader("Access-Control-Allow-Origin"))
        _, _, headers = self.server.request(
            "GET", "/healthz", headers={"Origin": "https://app.example"})
        self.assertNotIn("Access-Control-Allow-Origin", headers)


if __name__ == "__main__":
    unittest.main()


class OpenApiTest(ClientTestCase):
    """The document the server serves is docs/openapi.yaml, and it agrees
    with the server on its routes and methods. (Every answer the black-box
    suites receive is checked against it by the harness.)"""

    server_env = {"MOTORHEAD_API_KEYS": KEYS[0]}
    methods = ["GET", "POST", "DELETE", "PUT", "PATCH"]

    def test_the_served_document_is_the_one_in_docs(self):
        status, text, headers = self.server.get_text("/openapi.json")
        self.assertEqual(status, 200)  # no key needed
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(json.loads(text), openapi_check.load_document())
        status, _, _ = self.server.get_text("/motorhead/openapi.json")
        self.assertEqual(status, 200)

    def test_every_schema_is_valid_json_schema(self):
        document = openapi_check.document()
        self.assertEqual(document.raw["openapi"], "3.1.0")
        for schema in document.schemas():
            Draft202012Validator.check_schema(schema)

    def test_the_server_answers_the_documented_methods_and_no_other(self):
        key = {"Authorization": f"Bearer {KEYS[0]}"}
        samples = {"{session_id}": new_session(), "{file}": "index.html",
                   "{namespace}": new_session()}
        for template, item in openapi_check.document().raw["paths"].items():
            path = template
            for placeholder, value in samples.items():
                path = path.replace(placeholder, value)
            for method in self.methods:
                status, text = self.raw_answer(method, path, key)
                operation = item.get(method.lower())
                if operation is None:
                    self.assertEqual(status, 405, f"{method} {path}")
                elif "404" in operation["responses"]:
                    # A 404 it documents (no such session), not "no route".
                    self.assertNotEqual(status, 405, f"{method} {path}")
                    self.assertNotIn("no route", text, f"{method} {path}")
                else:
                    self.assertNotIn(status, (404, 405), f"{method} {path}")

    def test_an_undocumented_path_is_a_json_404(self):
        key = {"Authorization": f"Bearer {KEYS[0]}"}
        status, body, _ = self.server.request("GET", "/no/such/route",
                                              headers=key)
        self.assertEqual(status, 404)
        self.assertIn("error", body)

    def raw_answer(self, method, path, headers):
        """The status and body of one request."""
        body = json.dumps({"messages": [turn(0)], "text": "message"}) \
            if method in ("POST", "PUT", "PATCH") else None
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port,
                                          timeout=20)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
            openapi_check.check(method, path, response.status,
                                dict(response.getheaders()), text)
            return response.status, text
        finally:
            conn.close()


class AdminPageHeadersTest(ClientTestCase):
    """The admin page cannot be framed, sniffed or made to run scripts from
    anywhere but the server itself."""

    def test_the_page_and_its_files_carry_a_content_security_policy(self):
        for path in ("/ui", "/ui/index.html", "/ui/app.js",
                     "/ui/style.css"):
            with self.subTest(path=path):
                status, _, headers = self.server.get_text(path)
                self.assertEqual(status, 200)
                policy = headers["Content-Security-Policy"]
                directives = dict(
                    (part.strip().split(" ", 1) + [""])[:2]
                    for part in policy.split(";") if part.strip())
                self.assertEqual(directives["default-src"], "'none'")
                self.assertEqual(directives["script-src"], "'self'")
                self.assertEqual(directives["frame-ancestors"], "'none'")
                self.assertNotIn("unsafe-inline", policy)
                self.assertNotIn("unsafe-eval", policy)
                self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
                self.assertEqual(headers["X-Frame-Options"], "DENY")
                self.assertEqual(headers["Referrer-Policy"], "no-referrer")


class ScopedKeysTest(ClientTestCase):
    """MOTORHEAD_API_KEYS=admin,tenantA:a|shared,tenantB:b: a key scoped to
    namespaces reaches only the sessions posted under them."""

    admin, tenant_a, tenant_b = ("adm-" + uuid.uuid4().hex,
                                 "ta-" + uuid.uuid4().hex,
                                 "tb-" + uuid.uuid4().hex)
    server_env = {"MOTORHEAD_API_KEYS":
                  f"{admin},{tenant_a}:a|shared,{tenant_b}:b",
                  "MOTORHEAD_LONG_TERM_MEMORY": "true"}

    def call(self, key, method, path, body=None):
        return self.server.request(method, path, body,
                                   headers={"Authorization": f"Bearer {key}"})

    def posted_by_a(self):
        session = new_session()
        status, _, _ = self.call(self.tenant_a, "POST",
                                 f"/sessions/{session}/memory?namespace=a",
                                 {"messages": [turn(0), turn(1)]})
        self.assertEqual(status, 200)
        return session

    def test_another_tenant_cannot_read_write_search_or_delete(self):
        session = self.posted_by_a()
        memory = f"/sessions/{session}/memory"
        for method, path, body in [
                ("GET", memory, None),
                ("POST", memory + "?namespace=b", {"messages": [turn(2)]}),
                ("DELETE", memory, None),
                ("POST", f"/sessions/{session}/retrieval", {"text": "topic0"})]:
            status, answer, _ = self.call(self.tenant_b, method, path, body)
            self.assertEqual(status, 403, (method, path, answer))
            self.assertIn("may not reach", answer["error"])
        # Nothing changed; the owner and the admin key still read it.
        for key in (self.tenant_a, self.admin):
            status, answer, _ = self.call(key, "GET", memory)
            self.assertEqual(status, 200)
            self.assertEqual(len(answer["messages"]), 2)
        status, hits, _ = self.call(self.tenant_a, "POST",
                                    f"/sessions/{session}/retrieval",
                                    {"text": "topic0"})
        self.assertEqual(status, 200)
        self.assertEqual(hits[0]["content"], turn(0)["content"])

    def test_a_post_and_a_list_must_name_a_namespace_of_the_key(self):
        session = new_session()
        memory = f"/sessions/{session}/memory"
        for path in (memory, memory + "?namespace=b"):
            status, answer, _ = self.call(self.tenant_a, "POST", path,
                                          {"messages": [turn(0)]})
            self.assertEqual(status, 403, path)
            self.assertIn("namespace", answer["error"])
        for path in ("/sessions", "/sessions?namespace=b"):
            self.assertEqual(self.call(self.tenant_a, "GET", path)[0], 403)
        session = self.posted_by_a()
        status, ids, _ = self.call(self.tenant_a, "GET",
                                   "/sessions?namespace=a&size=100")
        self.assertEqual(status, 200)
        self.assertIn(session, ids)

    def test_a_session_that_holds_nothing_reads_empty(self):
        status, answer, _ = self.call(self.tenant_b, "GET",
                                      f"/sessions/{new_session()}/memory")
        self.assertEqual(status, 200)
        self.assertEqual(answer["messages"], [])

    def test_operations_routes_need_a_key_without_scope(self):
        for path in ("/metrics", "/cluster"):
            conn_status = self.server.get_text(
                path, {"Authorization": f"Bearer {self.tenant_a}"})[0]
            self.assertEqual(conn_status, 403, path)
            self.assertEqual(self.server.get_text(
                path, {"Authorization": f"Bearer {self.admin}"})[0], 200)

    def test_the_key_check_lists_the_scope(self):
        status, answer, _ = self.call(self.tenant_a, "GET", "/keys/current")
        self.assertEqual((status, answer["namespaces"]), (200, ["a", "shared"]))
        status, answer, _ = self.call(self.admin, "GET", "/keys/current")
        self.assertEqual(status, 200)
        self.assertNotIn("namespaces", answer)
