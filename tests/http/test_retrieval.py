"""Black-box tests of long-term memory: POST /sessions/{id}/retrieval on
plain Redis, with BM25 alone and hybrid with the fake provider's
embeddings."""

import json
import os
import signal
import time
import unittest
import uuid

import prometheus
from harness import (FakeOpenAI, Motorhead, RedisServer, TestCase, turn,
                     wait_until)

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "retrieval_set.json")
# Floors for recall@5 on the labelled set; the measured values are printed.
BM25_FLOOR = 0.35
HYBRID_FLOOR = 0.9
NAMESPACE_BM25_FLOOR = 0.35
NAMESPACE_HYBRID_FLOOR = 0.9


def load_set():
    with open(DATA) as f:
        return json.load(f)


class RetrievalTestCase(TestCase):
    with_provider = False
    extra_env = {}

    def start_redis(self):
        """The Redis of one test (test_redis_cluster runs these tests on a
        Redis Cluster instead)."""
        self.redis = RedisServer()
        self.redis.start()

    def remove_redis(self):
        self.redis.remove()

    def is_pending(self, session):
        """Whether the session is listed as having messages to embed."""
        return self.redis.command("ZSCORE", "motorhead:embedding:pending",
                                  session) is not None

    def setUp(self):
        self.start_redis()
        env = {"MOTORHEAD_LONG_TERM_MEMORY": "true", "MOTORHEAD_MAX_WINDOW_SIZE": 4,
               "MOTORHEAD_PROVIDER_RETRY_BASE_MS": 50}
        self.fake = None
        if self.with_provider:
            self.fake = FakeOpenAI()
            env.update(OPENAI_API_BASE=self.fake.base_url + "/v1",
                       MOTORHEAD_TOKENIZER="cl100k_base")
        env.update(self.extra_env)
        self.server = self.make_server(env)
        self.server.start()
        self.prefix = uuid.uuid4().hex[:8] + "-"

    def make_server(self, env):
        """One server (test_redis_cluster runs some of these tests on
        three nodes instead)."""
        return Motorhead(self.redis.url, **env)

    def tearDown(self):
        self.server.close()
        if self.fake:
            self.fake.stop()
        self.remove_redis()

    def retrieve(self, session, text, top_k=None):
        body = {"text": text}
        if top_k is not None:
            body["top_k"] = top_k
        status, answer, _ = self.server.request(
            "POST", f"/sessions/{session}/retrieval", body)
        self.assertEqual(status, 200, answer)
        return answer

    def load_labelled_set(self, namespace=None):
        data = load_set()
        for name, messages in data["sessions"].items():
            for role, content in messages:
                self.assertEqual(self.server.post_memory(
                    self.prefix + name, [{"role": role, "content": content}],
                    namespace=namespace)[0], 200)
        return data

    def recall_at_5(self, data):
        found = total = 0
        for query in data["queries"]:
            messages = data["sessions"][query["session"]]
            hits = [h["content"] for h in
                    self.retrieve(self.prefix + query["session"], query["text"], 5)]
            for index in query["relevant"]:
                total += 1
                found += messages[index][1] in hits
        return found / total

    def unembedded(self, session):
        return self.redis.command("SCARD", f"motorhead:session:{{{session}}}:unembedded")


class LexicalTest(RetrievalTestCase):

    def test_recall_at_5_with_bm25(self):
        recall = self.recall_at_5(self.load_labelled_set())
        print(f"\nrecall@5, BM25 alone: {recall:.2f}")
        self.assertGreaterEqual(recall, BM25_FLOOR)

    def test_the_answer_has_the_original_shape(self):
        data = self.load_labelled_set()
        hits = self.retrieve(self.prefix + "travel", "sushi restaurant Tokyo")
        self.assertLessEqual(len(hits), 10)
        # The original's members, then the message's details (additions).
        self.assertEqual(set(hits[0]), {"role", "content", "dist", "id",
                                        "created_at", "token_count"})
        self.assertEqual(hits[0]["content"], data["sessions"]["travel"][4][1])
        dists = [h["dist"] for h in hits]
        self.assertEqual(dists, sorted(dists))
        self.assertEqual(len(self.retrieve(self.prefix + "travel", "Tokyo", 1)), 1)

    def test_a_session_never_sees_another_sessions_messages(self):
        data = self.load_labelled_set()
        own = {c for _, c in data["sessions"]["code"]}
        for query in data["queries"]:
            for hit in self.retrieve(self.prefix + "code", query["text"], 100):
                self.assertIn(hit["content"], own)

    def test_folded_messages_stay_in_long_term_memory(self):
        data = self.load_labelled_set()
        session = self.prefix + "travel"
        self.assertTrue(wait_until(
            lambda: self.server.get_memory(session)["context"] is not None))
        self.assertLessEqual(len(self.server.get_memory(session)["messages"]), 4)
        first = data["sessions"]["travel"][0][1]
        self.assertIn(first, [h["content"] for h in
                              self.retrieve(session, "trip Japan spring", 3)])

    def test_results_survive_a_restart(self):
        self.load_labelled_set()
        before = self.retrieve(self.prefix + "health", "knee pain running")
        self.assertEqual(self.server.stop(), 0)
        self.server.start()
        self.assertEqual(self.retrieve(self.prefix + "health", "knee pain running"),
                         before)

    def test_delete_removes_the_index(self):
        self.load_labelled_set()
        session = self.prefix + "code"
        self.server.request("DELETE", f"/sessions/{session}/memory")
        self.assertEqual(self.retrieve(session, "KeyError dictionary"), [])
        self.assertEqual(self.redis.command(
            "EXISTS", f"motorhead:session:{{{session}}}:archive"), 0)

    def test_an_unknown_session_finds_nothing(self):
        self.assertEqual(self.retrieve("nobody-" + self.prefix, "anything"), [])

    def test_bad_bodies(self):
        for raw, part in (("{bad", "malformed JSON"), ("[]", "JSON object"),
                          ('{"query": "x"}', "text"), ('{"text": 3}', "text"),
                          ('{"text": ""}', "empty"),
                          ('{"text": "x", "top_k": 0}', "top_k"),
                          ('{"text": "x", "top_k": 101}', "top_k"),
                          ('{"text": "x", "top_k": "5"}', "top_k")):
            with self.subTest(body=raw):
                status, body, _ = self.server.request(
                    "POST", "/sessions/s/retrieval", raw_body=raw)
                self.assertEqual(status, 400, body)
                self.assertIn(part, body["error"])


class HybridTest(RetrievalTestCase):
    with_provider = True

    def embedding_calls(self):
        return [r for r in self.fake.requests() if r["path"].endswith("/embeddings")]

    def wait_until_indexed(self, sessions):
        self.assertTrue(wait_until(
            lambda: all(self.unembedded(s) == 0 for s in sessions), timeout=20))

    def test_recall_at_5_hybrid_beats_bm25(self):
        data = self.load_labelled_set()
        self.wait_until_indexed([self.prefix + name for name in data["sessions"]])
        recall = self.recall_at_5(data)
        print(f"\nrecall@5, BM25 + embeddings (RRF): {recall:.2f}")
        self.assertGreaterEqual(recall, HYBRID_FLOOR)

    def test_embedding_requests_are_batched_and_well_formed(self):
        session = self.prefix + "batch"
        self.server.post_memory(session, [turn(i) for i in range(3)])
        self.wait_until_indexed([session])
        call = self.embedding_calls()[0]
        self.assertEqual(call["path"], "/v1/embeddings")
        self.assertEqual(call["body"]["model"], "text-embedding-3-small")
        self.assertEqual(len(call["body"]["input"]), 3)
        vectors = f"motorhead:session:{{{session}}}:vectors"
        self.assertEqual(self.redis.command("HLEN", vectors), 3)
        # Packed float32: 128 dimensions, 4 bytes each.
        self.assertEqual(self.redis.command("HSTRLEN", vectors, "1"), 512)
        meta = f"motorhead:session:{{{session}}}:meta"
        self.assertEqual(self.redis.command("HGET", meta, "embedding_model"),
                         "text-embedding-3-small")
        self.assertEqual(self.redis.command("HGET", meta, "embedding_dim"), "128")
        self.assertGreaterEqual(prometheus.value(
            self.server.metrics(), "motorhead_provider_calls_total",
            purpose="embedding", result="ok"), 1)

    def test_a_restart_needs_no_new_embeddings(self):
        data = self.load_labelled_set()
        self.wait_until_indexed([self.prefix + name for name in data["sessions"]])
        before = [self.retrieve(self.prefix + q["session"], q["text"])
                  for q in data["queries"]]
        self.assertEqual(self.server.stop(), 0)
        self.server.start()
        calls = len(self.embedding_calls())
        after = [self.retrieve(self.prefix + q["session"], q["text"])
                 for q in data["queries"]]
        self.assertEqual(after, before)
        # Only the queries were embedded, one call each.
        self.assertEqual(len(self.embedding_calls()) - calls, len(data["queries"]))

    def test_provider_failures_during_indexing_are_retried(self):
        self.fake.control(script=[{"status": 500}, {"status": 429, "retry_after": "0"},
                                  {"malformed": True}, {"status": 503},
                                  {"status": 500}, {"status": 500}])
        session = self.prefix + "flaky"
        self.server.post_memory(session, [turn(i) for i in range(4)])
        self.wait_until_indexed([session])
        self.assertEqual(len(self.redis.command(
            "HKEYS", f"motorhead:session:{{{session}}}:vectors")), 4)
        self.assertIn("embedding", self.server.output())


class SharedServerTestCase(RetrievalTestCase):
    """One Redis and one server (or cluster) for the whole class, started
    by its first test: each test's prefix keeps its sessions apart."""

    def setUp(self):
        shared = type(self).__dict__.get("shared")
        if shared is None:
            with self.class_scope():
                super().setUp()
            type(self).shared = (self.redis, self.server, self.fake,
                                 self.remove_redis)
        else:
            self.redis, self.server, self.fake, _ = shared
            self.prefix = uuid.uuid4().hex[:8] + "-"

    def tearDown(self):
        pass

    @classmethod
    def tearDownClass(cls):
        shared = cls.__dict__.get("shared")
        if shared is None:
            return
        _, server, fake, remove_redis = shared
        server.close()
        if fake:
            fake.stop()
        remove_redis()


class NamespaceSearchTestCase(SharedServerTestCase):
    """POST /namespaces/{ns}/retrieval over the labelled set, its three
    sessions posted under one namespace: a user's whole memory."""

    def search(self, namespace, text, top_k=5, filter_=None, status=200):
        body = {"text": text, "top_k": top_k}
        if filter_ is not None:
            body["filter"] = filter_
        code, answer, _ = self.server.request(
            "POST", f"/namespaces/{namespace}/retrieval", body)
        self.assertEqual(code, status, answer)
        return answer

    def namespace_recall_at_5(self, data, namespace):
        """Relevant messages found in the top 5 of the whole namespace;
        a hit from another session counts as a miss."""
        found = total = 0
        for query in data["queries"]:
            session = self.prefix + query["session"]
            hits = {(h["session_id"], h["content"])
                    for h in self.search(namespace, query["text"])}
            for index in query["relevant"]:
                total += 1
                content = data["sessions"][query["session"]][index][1]
                found += (session, content) in hits
        return found / total


class NamespaceSearchTest(NamespaceSearchTestCase):

    def test_recall_at_5_across_the_namespace_with_bm25(self):
        namespace = self.prefix + "user"
        recall = self.namespace_recall_at_5(
            self.load_labelled_set(namespace), namespace)
        print(f"\nnamespace recall@5, BM25 alone: {recall:.2f}")
        self.assertGreaterEqual(recall, NAMESPACE_BM25_FLOOR)

    def test_ranks_as_one_session_holding_every_message_would(self):
        namespace = self.prefix + "user"
        data = self.load_labelled_set(namespace)
        union = self.prefix + "union"
        for messages in data["sessions"].values():
            for role, content in messages:
                self.server.post_memory(union, [{"role": role,
                                                 "content": content}])
        for query in data["queries"]:
            across = self.search(namespace, query["text"], 100)
            alone = self.retrieve(union, query["text"], 100)
            self.assertEqual(
                sorted((round(h["dist"], 9), h["content"]) for h in across),
                sorted((round(h["dist"], 9), h["content"]) for h in alone),
                query["text"])

    def test_hits_name_their_session_message_time_and_metadata(self):
        namespace = self.prefix + "user"
        session = self.prefix + "alpha"
        self.server.post_memory(session, [
            {"role": "Human", "content": "my cat is called Miso", "id": "m-1",
             "created_at": "2026-03-04T05:06:07Z",
             "metadata": {"topic": "pets"}}], namespace=namespace)
        [hit] = self.search(namespace, "cat Miso")
        self.assertEqual(
            {k: hit[k] for k in ("session_id", "id", "created_at", "metadata",
                                 "role", "content")},
            {"session_id": session, "id": "m-1",
             "created_at": "2026-03-04T05:06:07.000Z",
             "metadata": {"topic": "pets"}, "role": "Human",
             "content": "my cat is called Miso"})
        self.assertEqual(hit["token_count"], 6)
        self.assertGreater(hit["dist"], 0)

    def test_only_the_namespaces_sessions_are_searched(self):
        namespace = self.prefix + "user"
        self.load_labelled_set(namespace)
        other = self.prefix + "other-session"
        self.server.post_memory(other, [{"role": "Human",
                                         "content": "sushi Tokyo sushi"}],
                                namespace=self.prefix + "someone-else")
        hits = self.search(namespace, "sushi Tokyo", 100)
        self.assertTrue(hits)
        self.assertNotIn(other, {h["session_id"] for h in hits})
        self.assertEqual(self.search(self.prefix + "nobody", "sushi"), [])
        # A deleted session leaves the namespace's search with its DELETE.
        self.server.request("DELETE", f"/sessions/{self.prefix}travel/memory")
        self.assertNotIn(self.prefix + "travel", {
            h["session_id"] for h in self.search(namespace, "sushi Tokyo", 100)})

    def post_filtered_set(self, namespace):
        for session, role, text, time, topic in [
                ("a", "Human", "pizza dough recipe", "2026-01-01T10:00:00Z", "food"),
                ("a", "AI", "pizza dough needs time", "2026-01-02T10:00:00Z", "food"),
                ("b", "Human", "pizza oven prices", "2026-02-01T10:00:00Z", "shop"),
                ("b", "AI", "pizza stones are cheap", "2026-03-01T10:00:00Z", None)]:
            message = {"role": role, "content": text, "created_at": time}
            if topic:
                message["metadata"] = {"topic": topic, "n": 1}
            self.server.post_memory(self.prefix + session, [message],
                                    namespace=namespace)

    def test_filters_select_by_role_metadata_and_time(self):
        namespace = self.prefix + "user"
        self.post_filtered_set(namespace)

        def contents(filter_, session=None):
            if session:
                hits = self.retrieve_filtered(self.prefix + session, filter_)
            else:
                hits = self.search(namespace, "pizza", 10, filter_)
            return sorted(h["content"] for h in hits)

        self.assertEqual(len(contents({})), 4)
        self.assertEqual(contents({"role": "AI"}),
                         ["pizza dough needs time", "pizza stones are cheap"])
        self.assertEqual(contents({"role": ["Human", "Nobody"]}),
                         ["pizza dough recipe", "pizza oven prices"])
        self.assertEqual(contents({"metadata": {"topic": "food", "n": 1}}),
                         ["pizza dough needs time", "pizza dough recipe"])
        self.assertEqual(contents({"metadata": {"topic": "food", "n": 2}}), [])
        self.assertEqual(contents({"created_after": "2026-01-01T10:00:00Z",
                                   "created_before": "2026-03-01T10:00:00Z"}),
                         ["pizza dough needs time", "pizza oven prices"])
        self.assertEqual(contents({"role": "Human", "metadata": {"topic": "shop"}}),
                         ["pizza oven prices"])
        # The same filter on a session's own retrieval.
        self.assertEqual(contents({"role": "AI"}, session="b"),
                         ["pizza stones are cheap"])
        self.assertEqual(contents({"created_before": "2026-01-02T00:00:00Z"},
                                  session="a"), ["pizza dough recipe"])

    def retrieve_filtered(self, session, filter_):
        code, answer, _ = self.server.request(
            "POST", f"/sessions/{session}/retrieval",
            {"text": "pizza", "filter": filter_})
        self.assertEqual(code, 200, answer)
        return answer

    def test_bad_filters_and_namespaces_are_400(self):
        for filter_, part in [
                ([], '"filter" must be an object'),
                ({"role": 3}, '"role" must be a string or an array'),
                ({"role": []}, '"role" must be a string or an array'),
                ({"metadata": [1]}, '"metadata" must be an object'),
                ({"created_after": "yesterday"}, "RFC 3339"),
                ({"created_before": 5}, "RFC 3339"),
                ({"roles": "AI"}, 'unknown filter field "roles"')]:
            for path in ("/namespaces/ns/retrieval", "/sessions/s/retrieval"):
                with self.subTest(filter=filter_, path=path):
                    code, body, _ = self.server.request(
                        "POST", path, {"text": "x", "filter": filter_})
                    self.assertEqual(code, 400, body)
                    self.assertIn(part, body["error"])
        deep = '{"a":' + "[" * 450_000 + "]" * 450_000 + "}"
        for path in ("/namespaces/ns/retrieval", "/sessions/s/retrieval"):
            code, body, _ = self.server.request(
                "POST", path,
                raw_body='{"text":"x","filter":{"metadata":' + deep + "}}")
            self.assertEqual(code, 400, body)
            self.assertIn("nests deeper than 128 levels", body["error"])
        code, body, _ = self.server.request(
            "POST", "/namespaces/a%20b/retrieval", {"text": "x"})
        self.assertEqual(code, 400, body)
        self.assertIn("namespace", body["error"])
        code, body, _ = self.server.request("GET", "/namespaces/ns/retrieval")
        self.assertEqual(code, 405, body)

    def test_every_query_is_bounded(self):
        """Each bound is a setting with a default; a query beyond it is a
        400 that names the setting."""
        words = [f"w{i}" for i in range(257)]
        for body, setting in [
                ({"text": "x" * 16385}, "MOTORHEAD_QUERY_MAX_BYTES"),
                ({"text": " ".join(words)}, "MOTORHEAD_QUERY_MAX_TERMS"),
                ({"text": "x", "filter": {"role": words[:17]}},
                 "MOTORHEAD_FILTER_MAX_ROLES"),
                ({"text": "x", "filter": {"metadata": {
                    w: 1 for w in words[:17]}}},
                 "MOTORHEAD_FILTER_MAX_METADATA")]:
            for path in ("/namespaces/ns/retrieval", "/sessions/s/retrieval"):
                with self.subTest(setting=setting, path=path):
                    code, answer, _ = self.server.request("POST", path, body)
                    self.assertEqual(code, 400, answer)
                    self.assertIn(setting, answer["error"])
        # At the bounds, a query is answered.
        for body in [{"text": "x" * 16384},
                     {"text": " ".join(words[:256])},
                     {"text": "x", "filter": {"role": words[:16]}},
                     {"text": "x", "filter": {"metadata": {
                         w: 1 for w in words[:16]}}}]:
            code, answer, _ = self.server.request(
                "POST", "/namespaces/ns/retrieval", body)
            self.assertEqual(code, 200, answer)


class NamespaceHybridTest(NamespaceSearchTestCase):
    with_provider = True

    def test_recall_at_5_across_the_namespace_hybrid(self):
        namespace = self.prefix + "user"
        data = self.load_labelled_set(namespace)
        sessions = [self.prefix + name for name in data["sessions"]]
        self.assertTrue(wait_until(
            lambda: all(self.unembedded(s) == 0 for s in sessions), timeout=20))
        recall = self.namespace_recall_at_5(data, namespace)
        print(f"\nnamespace recall@5, BM25 + embeddings (RRF): {recall:.2f}")
        self.assertGreaterEqual(recall, NAMESPACE_HYBRID_FLOOR)


class ForgettingTestCase(SharedServerTestCase):
    """Sessions with long-term memory and vectors, to be deleted."""
    with_provider = True

    def keys_of(self, session):
        """Every key Redis holds that names the session."""
        return self.redis.keys(f"*{session}*")

    def post_indexed(self, sessions, namespace=None):
        for session in sessions:
            self.assertEqual(self.server.post_memory(
                session, [turn(0), turn(1)], namespace=namespace)[0], 200)
        self.assertTrue(wait_until(
            lambda: all(self.unembedded(s) == 0 for s in sessions), timeout=20))
        for session in sessions:  # archive, vectors, ids, meta, messages
            self.assertGreaterEqual(len(self.keys_of(session)), 5, session)


class NamespaceDeletionTest(ForgettingTestCase):

    def test_deleting_a_namespace_leaves_nothing_of_its_sessions(self):
        namespace = self.prefix + "user"
        mine = [self.prefix + f"mine-{i}" for i in range(5)]
        other = self.prefix + "someone-else"
        self.post_indexed(mine, namespace)
        self.post_indexed([other], self.prefix + "other")
        self.server.request("PATCH", f"/sessions/{mine[0]}",
                            {"metadata": {"user": "ann"}})
        status, body, _ = self.server.request("DELETE",
                                              f"/namespaces/{namespace}")
        self.assertEqual((status, body),
                         (200, {"status": "Ok", "deleted_sessions": 5}))
        for session in mine:
            self.assertEqual(self.keys_of(session), [], session)
        self.assertEqual(self.redis.keys(f"*{namespace}*"), [])
        status, listed, _ = self.server.request("GET", "/sessions?size=100")
        self.assertEqual(set(mine) & set(listed), set())  # unlisted
        self.assertGreaterEqual(len(self.keys_of(other)), 5)
        self.assertEqual(len(self.server.get_memory(other)["messages"]), 2)
        # Deleted means forgotten: searches find nothing, and a new POST
        # starts the session afresh.
        self.assertEqual(self.search_namespace(namespace), [])
        self.assertEqual(self.server.post_memory(mine[0], [turn(7)])[0], 200)
        self.assertEqual(len(self.server.get_memory(mine[0])["messages"]), 1)
        status, info, _ = self.server.request("GET", f"/sessions/{mine[0]}")
        self.assertEqual((info["metadata"], info["message_count"]), (None, 1))

    def search_namespace(self, namespace):
        status, hits, _ = self.server.request(
            "POST", f"/namespaces/{namespace}/retrieval", {"text": "topic0"})
        self.assertEqual(status, 200, hits)
        return hits

    def test_an_unknown_namespace_deletes_nothing(self):
        status, body, _ = self.server.request(
            "DELETE", f"/namespaces/{self.prefix}nobody")
        self.assertEqual((status, body["deleted_sessions"]), (200, 0))
        status, body, _ = self.server.request("DELETE", "/namespaces/a%20b")
        self.assertEqual(status, 400, body)


class RetentionTest(ForgettingTestCase):
    extra_env = {"MOTORHEAD_SESSION_TTL_SECONDS": 2}

    def test_untouched_sessions_are_deleted_with_everything_they_held(self):
        idle = self.prefix + "idle"
        busy = self.prefix + "busy"
        self.post_indexed([idle, busy], self.prefix + "user")
        # The busy session is touched every half second, by POST or PATCH,
        # for two TTLs (sweeps run every second).
        deadline = time.time() + 4
        i = 0
        while time.time() < deadline:
            if i % 2:
                self.server.post_memory(busy, [turn(i)])
            else:
                self.server.request("PATCH", f"/sessions/{busy}",
                                    {"metadata": {"i": i}})
            i += 1
            time.sleep(0.5)
        self.assertTrue(wait_until(lambda: self.keys_of(idle) == [], timeout=5),
                        self.keys_of(idle))
        self.assertEqual(self.server.request("GET", f"/sessions/{idle}")[0], 404)
        self.assertEqual(self.retrieve(idle, "topic0"), [])
        self.assertIn(busy, self.server.request("GET", "/sessions?size=100")[1])
        self.assertEqual(self.server.request("GET", f"/sessions/{busy}")[0], 200)
        # Counted by the node whose sweep deleted it (of three, on a cluster).
        cluster = getattr(self.server, "cluster", None)
        nodes = cluster.nodes if cluster else [self.server]
        self.assertGreaterEqual(sum(
            prometheus.value(node.metrics(), "motorhead_sessions_expired_total")
            for node in nodes), 1)
        # Once the busy one goes quiet, it expires too.
        self.assertTrue(wait_until(lambda: self.keys_of(busy) == [], timeout=8))


class CrashRecoveryTest(RetrievalTestCase):
    with_provider = True

    def test_messages_answered_before_a_crash_are_indexed_after_it(self):
        self.fake.control(script=[{"hang": True}])
        session = self.prefix + "crash"
        self.assertEqual(self.server.post_memory(session, [turn(0), turn(1)])[0], 200)
        self.assertEqual(self.unembedded(session), 2)
        self.server.stop(signal.SIGKILL)
        self.fake.reset()
        self.server.start()
        # No request names the session: the sweeper finds its pending mark.
        self.assertTrue(wait_until(lambda: self.unembedded(session) == 0, timeout=20))
        self.assertFalse(self.is_pending(session))


class DisabledTest(TestCase):

    def test_retrieval_answers_400_when_disabled(self):
        redis = RedisServer()
        redis.start()
        server = Motorhead(redis.url)
        server.start()
        try:
            status, body, _ = server.request("POST", "/sessions/s/retrieval",
                                             {"text": "x"})
            self.assertEqual(status, 400)
            self.assertIn("long-term memory is disabled", body["error"])
        finally:
            server.close()
            redis.remove()


if __name__ == "__main__":
    unittest.main()
