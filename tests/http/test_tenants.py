"""Tenants stay apart: keys scoped to namespaces (acme, globex) beside an
unscoped admin key. A session's namespaces change only with what Redis
acknowledged: a refused POST (409) or a retry (200, nothing stored) hands
nobody a session; a session that holds anything, metadata included, is
reached only through its namespaces; a key never sees the names of
namespaces outside its own."""

import unittest
import uuid

from harness import Motorhead, RedisServer, TestCase, turn

ADMIN, ACME, GLOBEX = ("adm-" + uuid.uuid4().hex, "acme-" + uuid.uuid4().hex,
                       "glx-" + uuid.uuid4().hex)
KEYS = f"{ADMIN},{ACME}:acme,{GLOBEX}:globex"


def new_session():
    return "t-" + uuid.uuid4().hex


def message(text, msg_id):
    return {"role": "Human", "content": text, "id": msg_id}


class TenantTestCase(TestCase):
    server_env = {"MOTORHEAD_API_KEYS": KEYS,
                  "MOTORHEAD_LONG_TERM_MEMORY": "true"}

    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer(durable=False)
        cls.redis.start()
        cls.server = Motorhead(cls.redis.url, **cls.server_env)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.redis.remove()

    def call(self, key, method, path, body=None):
        status, answer, _ = self.server.request(
            method, path, body, headers={"Authorization": f"Bearer {key}"})
        return status, answer

    def post(self, key, session, messages, namespace=None):
        path = f"/sessions/{session}/memory"
        if namespace:
            path += f"?namespace={namespace}"
        return self.call(key, "POST", path, {"messages": messages})

    def stored_namespaces(self, session):
        meta = f"motorhead:session:{{{session}}}:meta"
        return self.redis.command("HGET", meta, "namespaces")

    def listed_under(self, namespace):
        return self.redis.command(
            "ZRANGE", f"motorhead:sessions:{namespace}", 0, -1)

    def assert_only_acme_reaches(self, session, contents):
        """acme reads `contents` (oldest first); globex reaches the session
        through no route; nothing lists it under globex."""
        status, memory = self.call(ACME, "GET", f"/sessions/{session}/memory")
        self.assertEqual(status, 200, memory)
        self.assertEqual([m["content"] for m in reversed(memory["messages"])],
                         contents)
        memory_path = f"/sessions/{session}/memory"
        for method, path, body in [
                ("GET", memory_path, None),
                ("GET", f"/sessions/{session}", None),
                ("POST", memory_path + "?namespace=globex",
                 {"messages": [turn(9)]}),
                ("PATCH", f"/sessions/{session}?namespace=globex",
                 {"metadata": {"owner": "globex"}}),
                ("POST", f"/sessions/{session}/retrieval", {"text": "alpha"}),
                ("DELETE", memory_path, None)]:
            status, answer = self.call(GLOBEX, method, path, body)
            self.assertEqual(status, 403, (method, path, answer))
        status, hits = self.call(GLOBEX, "POST", "/namespaces/globex/retrieval",
                                 {"text": "alpha"})
        self.assertEqual(status, 200, hits)
        self.assertNotIn(session, [hit["session_id"] for hit in hits])
        status, ids = self.call(GLOBEX, "GET",
                                "/sessions?namespace=globex&size=100")
        self.assertEqual(status, 200)
        self.assertNotIn(session, ids)
        self.assertNotIn(session, self.listed_under("globex"))
        self.assertEqual(self.stored_namespaces(session), '["acme"]')


class RefusedWritesTest(TenantTestCase):
    """A POST refused (409) or answered as a retry (200) changes nothing,
    in memory or in Redis: it hands the session to no namespace."""

    def test_a_retry_under_another_namespace_hands_nothing_over(self):
        session = new_session()
        self.assertEqual(self.post(ACME, session, [message("alpha", "m1")],
                                   "acme")[0], 200)
        # An unscoped key repeats the POST under globex: a retry.
        status, answer = self.post(ADMIN, session, [message("alpha", "m1")],
                                   "globex")
        self.assertEqual(status, 200, answer)
        self.assert_only_acme_reaches(session, ["alpha"])
        # globex's right to be forgotten deletes nothing of acme's.
        status, answer = self.call(GLOBEX, "DELETE", "/namespaces/globex")
        self.assertEqual(status, 200, answer)
        self.assert_only_acme_reaches(session, ["alpha"])

    def test_a_refused_post_under_another_namespace_hands_nothing_over(self):
        session = new_session()
        self.assertEqual(self.post(ACME, session, [message("alpha", "m1")],
                                   "acme")[0], 200)
        status, answer = self.post(
            ADMIN, session, [message("alpha", "m1"), message("beta", "m2")],
            "globex")
        self.assertEqual(status, 409, answer)
        self.assert_only_acme_reaches(session, ["alpha"])

    def test_the_next_post_after_a_refusal_keeps_the_namespaces(self):
        session = new_session()
        self.post(ACME, session, [message("alpha", "m1")], "acme")
        self.post(ADMIN, session, [message("alpha", "m1")], "globex")
        self.assertEqual(self.post(ACME, session, [message("gamma", "m3")],
                                   "acme")[0], 200)
        self.assert_only_acme_reaches(session, ["alpha", "gamma"])

    def test_a_patch_under_another_namespace_by_a_retry_changes_nothing(self):
        session = new_session()
        self.post(ACME, session, [message("alpha", "m1")], "acme")
        status, answer = self.call(
            GLOBEX, "PATCH", f"/sessions/{session}?namespace=globex",
            {"metadata": {"owner": "globex"}})
        self.assertEqual(status, 403, answer)
        self.assert_only_acme_reaches(session, ["alpha"])


class MetadataOnlyTest(TenantTestCase):
    """A session that holds only metadata is not empty: a scoped key
    reaches it only through one of its namespaces."""

    def test_a_session_holding_only_metadata_is_nobody_elses(self):
        session = new_session()
        status, answer = self.call(ADMIN, "PATCH", f"/sessions/{session}",
                                   {"metadata": {"plan": "pro"}})
        self.assertEqual(status, 200, answer)
        for key in (ACME, GLOBEX):
            for method, path, body in [
                    ("GET", f"/sessions/{session}", None),
                    ("GET", f"/sessions/{session}/memory", None),
                    ("PATCH", f"/sessions/{session}?namespace=acme",
                     {"metadata": {"plan": "free"}}),
                    ("POST", f"/sessions/{session}/memory?namespace=acme",
                     {"messages": [turn(0)]})]:
                status, answer = self.call(key, method, path, body)
                self.assertEqual(status, 403, (key, method, path, answer))
        status, info = self.call(ADMIN, "GET", f"/sessions/{session}")
        self.assertEqual((status, info["metadata"], info["namespaces"]),
                         (200, {"plan": "pro"}, []))

    def test_a_session_patched_under_a_namespace_is_that_tenants(self):
        session = new_session()
        status, answer = self.call(ACME, "PATCH",
                                   f"/sessions/{session}?namespace=acme",
                                   {"metadata": {"plan": "pro"}})
        self.assertEqual(status, 200, answer)
        self.assertEqual(self.call(ACME, "GET", f"/sessions/{session}")[0],
                         200)
        self.assertEqual(self.call(GLOBEX, "GET", f"/sessions/{session}")[0],
                         403)


class NamespaceNamesTest(TenantTestCase):
    """A session shared by two namespaces (posted under each by an unscoped
    key) shows a scoped key only the namespaces of its own."""

    def test_a_scoped_key_sees_only_its_own_namespaces(self):
        session = new_session()
        self.assertEqual(self.post(ADMIN, session, [turn(0)], "acme")[0], 200)
        self.assertEqual(self.post(ADMIN, session, [turn(1)], "globex")[0],
                         200)
        for key, seen in ((ACME, ["acme"]), (GLOBEX, ["globex"]),
                          (ADMIN, ["acme", "globex"])):
            status, info = self.call(key, "GET", f"/sessions/{session}")
            self.assertEqual(status, 200, info)
            self.assertEqual(sorted(info["namespaces"]), seen)
            own = "" if key == ADMIN else f"?namespace={seen[0]}"
            status, info = self.call(key, "PATCH", f"/sessions/{session}{own}",
                                     {"metadata": {"seen": True}})
            self.assertEqual(status, 200, info)
            self.assertEqual(sorted(info["namespaces"]), seen)


if __name__ == "__main__":
    unittest.main()
