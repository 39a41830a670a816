"""Black-box tests: a real redis-server and build/motorhead on loopback
ports held for them, exercised over HTTP like the original's clients do."""

import concurrent.futures
import http.client
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime

from harness import (MOTORHEAD, Motorhead, RedisServer, TestCase, turn,
                     wait_until)

WINDOW = 4


def new_session():
    return "s-" + uuid.uuid4().hex


def read_answer(stream):
    """The status and body of one HTTP/1.1 answer read from `stream`."""
    status = int(stream.readline().split()[1])
    length = 0
    for line in iter(stream.readline, b"\r\n"):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return status, stream.read(length).decode()


class ServerTestCase(TestCase):
    """One Redis and one server for the whole class."""

    server_env = {"MOTORHEAD_MAX_WINDOW_SIZE": WINDOW}

    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer()
        cls.redis.start()
        cls.server = Motorhead(cls.redis.url, **cls.server_env)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.redis.remove()

    def assertError(self, response, status, part=""):
        code, body, _ = response
        self.assertEqual(code, status, body)
        self.assertIsInstance(body, dict)
        self.assertIn("error", body)
        self.assertIn(part, body["error"])


class OriginalApiTest(ServerTestCase):

    def test_health_answers_now_in_milliseconds(self):
        status, body, _ = self.server.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertLess(abs(body["now"] - time.time() * 1000), 60_000)

    def test_unknown_session_is_empty(self):
        session = new_session()
        self.assertEqual(self.server.get_memory(session),
                         {"messages": [], "context": None, "tokens": 0})
        self.assertEqual(self.server.request(
            "GET", f"/sessions/{session}")[0], 404)
        # A read of an id that exists nowhere stores nothing.
        self.assertEqual(self.redis.command(
            "KEYS", f"motorhead:session:{{{session}}}:*"), [])
        self.server.post_memory(session, [turn(0)])
        self.assertEqual(self.redis.command(
            "TTL", f"motorhead:session:{{{session}}}:meta"), -1)

    def test_post_then_get_newest_first(self):
        session = new_session()
        status, body, _ = self.server.post_memory(
            session, [{"role": "Human", "content": "ping"},
                      {"role": "AI", "content": "pong"}])
        self.assertEqual((status, body), (200, {"status": "Ok"}))
        memory = self.server.get_memory(session)
        self.assertEqual(memory["messages"], [{"role": "AI", "content": "pong"},
                                              {"role": "Human", "content": "ping"}])
        self.assertIsNone(memory["context"])

    def test_roles_are_free_strings_and_stored_as_json(self):
        session = new_session()
        odd = {"role": "tool: search", "content": "a: b\nc"}
        self.server.post_memory(session, [odd])
        self.assertEqual(self.server.get_memory(session)["messages"], [odd])
        stored = self.redis.command(
            "LRANGE", f"motorhead:session:{{{session}}}:messages", 0, -1)
        self.assertEqual(json.loads(stored[0])["role"], "tool: search")

    def test_window_is_never_exceeded_and_old_messages_are_summarized(self):
        session = new_session()
        for i in range(0, 12, 2):
            self.server.post_memory(session, [turn(i), turn(i + 1)])
            self.assertLessEqual(
                len(self.server.get_memory(session)["messages"]), WINDOW)
        self.assertTrue(wait_until(
            lambda: len(self.redis.command(
                "LRANGE", f"motorhead:session:{{{session}}}:messages", 0, -1))
            <= WINDOW))
        memory = self.server.get_memory(session)
        self.assertEqual([m["content"] for m in memory["messages"]],
                         [turn(i)["content"] for i in range(11, 11 - len(
                             memory["messages"]), -1)])
        self.assertIn("topic0", memory["context"])
        self.assertEqual(memory["tokens"], 0)

    def test_messages_stored_in_another_json_shape_fold_too(self):
        # Records written by other tools (spaces, another key order) are
        # checked by decoding them; the server's own by their first bytes.
        session = new_session()
        key = f"motorhead:session:{{{session}}}:messages"
        self.redis.command("RPUSH", key, json.dumps(
            {"seq": 1, "role": "Human", "content": "spaced topic0"}))
        self.redis.command("RPUSH", key, json.dumps(
            {"role": "AI", "content": "reordered topic0", "seq": 2}))
        for i in range(2, 8):
            self.server.post_memory(session, [turn(i)])
        self.assertTrue(wait_until(
            lambda: len(self.redis.command("LRANGE", key, 0, -1)) <= WINDOW))
        remaining = [json.loads(m)["seq"]
                     for m in self.redis.command("LRANGE", key, 0, -1)]
        self.assertNotIn(1, remaining)
        self.assertNotIn(2, remaining)
        self.assertIn("topic0", self.server.get_memory(session)["context"])

    def test_posted_context_replaces_the_summary(self):
        session = new_session()
        self.server.post_memory(session, [turn(0)], context="kept elsewhere")
        self.assertEqual(self.server.get_memory(session)["context"],
                         "kept elsewhere")
        self.server.post_memory(session, [], context="replaced")
        self.assertEqual(self.server.get_memory(session)["context"], "replaced")

    def test_delete_removes_everything(self):
        session = new_session()
        self.server.post_memory(session, [turn(0)], context="c", namespace="del-ns")
        status, body, _ = self.server.request(
            "DELETE", f"/sessions/{session}/memory?namespace=del-ns")
        self.assertEqual((status, body), (200, {"status": "Ok"}))
        self.assertEqual(self.server.get_memory(session),
                         {"messages": [], "context": None, "tokens": 0})
        _, listed, _ = self.server.request("GET", "/sessions?namespace=del-ns&size=100")
        self.assertNotIn(session, listed)
        self.assertEqual(self.redis.command(
            "EXISTS", f"motorhead:session:{{{session}}}:messages"), 0)
        self.assertOnlyAnExpiringEpoch(session)

    def test_a_session_written_after_its_delete_is_kept(self):
        """A DELETE leaves the session's record to expire; a POST or a
        PATCH after it keeps the record for good, also when it follows the
        DELETE with no pause, and also once a write has kept it."""
        meta = lambda session: f"motorhead:session:{{{session}}}:meta"
        writes = {
            "POST": lambda session: self.server.post_memory(session, [turn(1)]),
            "PATCH": lambda session: self.server.request(
                "PATCH", f"/sessions/{session}", {"metadata": {"a": 1}}),
        }
        for kind, write in writes.items():
            with self.subTest(write=kind):
                session = new_session()
                self.server.post_memory(session, [turn(0)])
                self.server.request("DELETE", f"/sessions/{session}/memory")
                self.assertGreater(self.redis.command("TTL", meta(session)), 0)
                self.assertEqual(write(session)[0], 200)
                self.assertEqual(self.redis.command("TTL", meta(session)), -1)
                self.server.request("DELETE", f"/sessions/{session}/memory")
                self.assertEqual(write(session)[0], 200)
                self.assertEqual(self.redis.command("TTL", meta(session)), -1)
        # A POST sent with a DELETE right behind it, after a DELETE: both
        # are in flight together, and the POST's answer comes while the
        # DELETE's expiry is still to land. The record expires only if it
        # holds no message, and the next POST keeps it.
        for _ in range(20):
            session = new_session()
            self.server.post_memory(session, [turn(0)])
            self.server.request("DELETE", f"/sessions/{session}/memory")
            connections = [http.client.HTTPConnection("127.0.0.1", self.server.port)
                           for _ in range(2)]
            for connection in connections:
                connection.connect()
            connections[0].request(
                "POST", f"/sessions/{session}/memory",
                json.dumps({"messages": [turn(1)]}),
                {"Content-Type": "application/json"})
            connections[1].request("DELETE", f"/sessions/{session}/memory")
            for connection in connections:
                self.assertEqual(connection.getresponse().status, 200)
                connection.close()
            messages = self.server.get_memory(session)["messages"]
            ttl = self.redis.command("TTL", meta(session))
            self.assertEqual(ttl == -1, bool(messages), (messages, ttl))
            self.server.post_memory(session, [turn(2)])
            self.assertEqual(self.redis.command("TTL", meta(session)), -1)

    def test_a_record_redis_lost_the_keeping_of_is_kept_by_the_next_post(self):
        """A failover to a replica that had not copied the last write, or a
        restart from an older snapshot, takes Redis back to a state the
        live session does not know of: here, the record a DELETE left to
        expire, as it was before the POST that kept it. The epoch is the
        same, so nothing fences the session or reloads it; its next POST
        must keep the record all the same."""
        session = new_session()
        meta = f"motorhead:session:{{{session}}}:meta"
        self.server.post_memory(session, [turn(0)])
        self.server.request("DELETE", f"/sessions/{session}/memory")
        after_delete = self.redis.command("HGETALL", meta)
        expiry = self.redis.command("PTTL", meta)
        self.assertGreater(expiry, 0)
        self.server.post_memory(session, [turn(1)])
        self.assertEqual(self.redis.command("TTL", meta), -1)
        for key in ("meta", "messages", "ids"):
            self.redis.command("DEL", f"motorhead:session:{{{session}}}:{key}")
        self.redis.command("HSET", meta, *after_delete)
        self.redis.command("PEXPIRE", meta, expiry)
        self.assertEqual(self.server.post_memory(session, [turn(2)])[0], 200)
        self.assertEqual(self.redis.command("TTL", meta), -1)

    def assertOnlyAnExpiringEpoch(self, session):
        """Nothing of the session is left but its claim (and, after a
        DELETE, its summary generation), and they expire."""
        meta = f"motorhead:session:{{{session}}}:meta"
        self.assertLessEqual(set(self.redis.command("HKEYS", meta)),
                             {"epoch", "summary_gen"})
        self.assertGreater(self.redis.command("TTL", meta), 0)

    def test_delete_of_unknown_session_is_ok(self):
        status, body, _ = self.server.request(
            "DELETE", f"/sessions/{new_session()}/memory")
        self.assertEqual((status, body), (200, {"status": "Ok"}))

    def test_sessions_are_listed_oldest_activity_first_with_paging(self):
        ns = "list-" + uuid.uuid4().hex[:8]
        sessions = [new_session() for _ in range(5)]
        for session in sessions:
            self.server.post_memory(session, [turn(0)], namespace=ns)
            time.sleep(0.005)  # distinct millisecond scores
        self.server.post_memory(sessions[0], [turn(1)], namespace=ns)
        expected = sessions[1:] + sessions[:1]
        _, page1, _ = self.server.request("GET", f"/sessions?namespace={ns}&page=1&size=2")
        _, page2, _ = self.server.request("GET", f"/sessions?namespace={ns}&page=2&size=2")
        _, page3, _ = self.server.request("GET", f"/sessions?namespace={ns}&page=3&size=2")
        _, page4, _ = self.server.request("GET", f"/sessions?namespace={ns}&page=4&size=2")
        self.assertEqual(page1 + page2 + page3, expected)
        self.assertEqual(page4, [])
        _, everything, _ = self.server.request("GET", "/sessions?size=100&page=1")
        self.assertTrue(set(sessions) <= set(everything) or len(everything) == 100)

    def test_a_cursor_lists_past_ten_thousand_sessions(self):
        ns = "many-" + uuid.uuid4().hex[:8]
        # The index as POSTs leave it, written directly: 10,050 sessions,
        # seven to each millisecond, so pages end inside runs of ties.
        ids = [f"{ns}-{i:05d}" for i in range(10_050)]
        key = f"motorhead:namespace:{{{ns}}}:sessions"
        for start in range(0, len(ids), 1000):
            self.redis.command("ZADD", key, *(
                part for i, session in enumerate(ids[start:start + 1000],
                                                 start)
                for part in (1_800_000_000_000 + i // 7, session)))
        listed, pages = self.server.list_by_cursor(f"namespace={ns}")
        self.assertEqual(listed, ids)
        self.assertEqual(pages, 101)  # the last one empty
        status, body, _ = self.server.request(
            "GET", f"/sessions?namespace={ns}&size=100&page=101")
        self.assertEqual(status, 400, body)
        self.redis.command("DEL", key)

    def test_a_cursor_skips_no_session_that_moves(self):
        ns = "moving-" + uuid.uuid4().hex[:8]
        sessions = [new_session() for _ in range(6)]
        for session in sessions:
            time.sleep(0.005)  # distinct millisecond scores
            self.server.post_memory(session, [turn(0)], namespace=ns)
        _, first, _ = self.server.request(
            "GET", f"/sessions?namespace={ns}&size=2&cursor=")
        self.assertEqual(first["sessions"], sessions[:2])
        # The first listed moves to the end: a page listing would now skip
        # sessions[2]; the cursor goes on from where it was.
        time.sleep(0.005)
        self.server.post_memory(sessions[0], [turn(1)], namespace=ns)
        rest, cursor = [], first["next_cursor"]
        while cursor:
            _, page, _ = self.server.request(
                "GET", f"/sessions?namespace={ns}&size=2&cursor="
                + urllib.parse.quote(cursor, safe=""))
            rest += page["sessions"]
            cursor = page["next_cursor"]
        self.assertEqual(rest, sessions[2:] + sessions[:1])

    def test_a_bad_cursor_is_refused(self):
        for query in ("cursor=nonsense", "cursor=1%3Aa%20b", "cursor=&page=2"):
            status, body, _ = self.server.request("GET", f"/sessions?{query}")
            self.assertEqual(status, 400, (query, body))
            self.assertIn("cursor", body["error"])

    def test_namespaces_separate_listings(self):
        a, b = "ns-a-" + uuid.uuid4().hex[:6], "ns-b-" + uuid.uuid4().hex[:6]
        sa, sb = new_session(), new_session()
        self.server.post_memory(sa, [turn(0)], namespace=a)
        self.server.post_memory(sb, [turn(0)], namespace=b)
        self.assertEqual(self.server.request("GET", f"/sessions?namespace={a}")[1], [sa])
        self.assertEqual(self.server.request("GET", f"/sessions?namespace={b}")[1], [sb])

    def test_health_routes(self):
        status, body, _ = self.server.request("GET", "/healthz")
        self.assertEqual((status, body["status"]), (200, "Ok"))
        self.assertRegex(body["version"], r"^\d+\.\d+\.\d+$")
        self.assertEqual(self.server.request("GET", "/readyz")[:2],
                         (200, {"status": "Ok"}))

    def test_concurrent_posts_to_one_session_lose_nothing(self):
        session = new_session()

        def post(i):
            return self.server.post_memory(session, [turn(i)])[0]

        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(post, range(60)))
        self.assertEqual(statuses, [200] * 60)
        meta_key = f"motorhead:session:{{{session}}}:meta"
        list_key = f"motorhead:session:{{{session}}}:messages"
        self.assertTrue(wait_until(
            lambda: len(self.redis.command("LRANGE", list_key, 0, -1)) <= WINDOW))
        # 60 messages got seq 1..60; folds removed exactly a prefix.
        self.assertEqual(self.redis.command("HGET", meta_key, "next_seq"), "61")
        seqs = [json.loads(m)["seq"] for m in
                self.redis.command("LRANGE", list_key, 0, -1)]
        self.assertEqual(seqs, list(range(61 - len(seqs), 61)))

    def test_concurrent_posts_to_many_sessions(self):
        sessions = [new_session() for _ in range(30)]

        def post(session):
            return self.server.post_memory(session, [turn(0), turn(1)])[0]

        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            self.assertEqual(list(pool.map(post, sessions)), [200] * 30)
        for session in sessions:
            self.assertEqual(len(self.server.get_memory(session)["messages"]), 2)


class MessageDetailsTest(ServerTestCase):
    """Every message has an id, a time, a token count and perhaps
    metadata; a POST retried with the same ids is stored once."""

    server_env = {"MOTORHEAD_MAX_WINDOW_SIZE": WINDOW,
                  "MOTORHEAD_MAX_METADATA_BYTES": 64}

    def messages(self, session):
        return self.server.get_memory(session, details=True)["messages"]

    def stored_count(self, session):
        return len(self.redis.command(
            "LRANGE", f"motorhead:session:{{{session}}}:messages", 0, -1))

    def test_the_server_gives_an_id_a_time_and_a_token_count(self):
        session = new_session()
        before = time.time()
        self.server.post_memory(session, [{"role": "Human",
                                           "content": "hello world"}])
        [message] = self.messages(session)
        self.assertEqual(set(message),
                         {"role", "content", "id", "created_at", "token_count"})
        self.assertEqual(uuid.UUID(message["id"]).version, 4)
        created = datetime.fromisoformat(
            message["created_at"].replace("Z", "+00:00")).timestamp()
        self.assertTrue(before - 1 <= created <= time.time() + 1, message)
        self.assertRegex(message["created_at"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # cl100k_base, the encoding of the default model: "hello", " world".
        self.assertEqual(message["token_count"], 2)

    def test_a_long_message_is_counted_as_a_short_one_is(self):
        # 24 KB of text, 4,000 pieces that are each a token: every one
        # counted, as in a two-word message.
        session = new_session()
        content = "hello world" + " hello world" * 1999
        self.server.post_memory(session, [{"role": "Human", "content": content}])
        [message] = self.messages(session)
        self.assertEqual(message["token_count"], 4000)

    def test_the_details_a_client_gives_are_kept(self):
        session = new_session()
        self.server.post_memory(session, [
            {"role": "Human", "content": "hi", "id": "msg-1",
             "created_at": "2026-01-02T03:04:05.678+02:00",
             "metadata": {"channel": "web", "tags": ["a", "b"]},
             "token_count": 1000}])
        [message] = self.messages(session)
        self.assertEqual(message["id"], "msg-1")
        self.assertEqual(message["created_at"], "2026-01-02T01:04:05.678Z")
        self.assertEqual(message["metadata"], {"channel": "web",
                                               "tags": ["a", "b"]})
        self.assertEqual(message["token_count"], 1)  # counted, not taken

    def test_a_retried_post_is_stored_once(self):
        session = new_session()
        turn_ = [{"role": "Human", "content": "once", "id": "r-1"},
                 {"role": "AI", "content": "only once", "id": "r-2"}]
        for _ in range(3):
            self.assertEqual(self.server.post_memory(session, turn_)[:2],
                             (200, {"status": "Ok"}))
        self.assertEqual([m["id"] for m in self.messages(session)],
                         ["r-2", "r-1"])
        self.assertEqual(self.stored_count(session), 2)

    def test_the_ids_the_server_gave_make_a_retry_too(self):
        # Only a client's ids are looked up before a POST is stored; the
        # server's own are stored all the same, for a client that learned
        # them from a read.
        session = new_session()
        self.server.post_memory(session, [{"role": "Human", "content": "a"},
                                          {"role": "AI", "content": "b"}])
        stored = list(reversed(self.messages(session)))
        repeat = [{k: m[k] for k in ("role", "content", "id")} for m in stored]
        self.assertEqual(self.server.post_memory(session, repeat)[:2],
                         (200, {"status": "Ok"}))
        self.assertError(self.server.post_memory(
            session, repeat[:1] + [{"role": "Human", "content": "c", "id": "c-9"}]),
            409, "1 of the 2 message ids")
        self.assertEqual(self.stored_count(session), 2)

    def test_a_retry_after_the_messages_were_folded_stores_nothing(self):
        session = new_session()
        first = [{"role": "Human", "content": "first", "id": "f-1"}]
        self.server.post_memory(session, first)
        for i in range(WINDOW + 2):
            self.server.post_memory(session, [turn(i)])
        self.assertTrue(wait_until(
            lambda: self.stored_count(session) <= WINDOW))
        self.assertEqual(self.server.post_memory(session, first)[0], 200)
        self.assertNotIn("first",
                         [m["content"] for m in self.messages(session)])

    def test_a_post_that_repeats_only_some_ids_is_refused(self):
        session = new_session()
        self.server.post_memory(session, [{"role": "Human", "content": "a",
                                           "id": "c-1"}])
        response = self.server.post_memory(session, [
            {"role": "Human", "content": "a", "id": "c-1"},
            {"role": "AI", "content": "b", "id": "c-2"}])
        self.assertError(response, 409, "1 of the 2 message ids")
        self.assertEqual([m["id"] for m in self.messages(session)], ["c-1"])
        # Nothing changed: the session takes new messages as before.
        self.server.post_memory(session, [{"role": "AI", "content": "b",
                                           "id": "c-2"}])
        self.assertEqual([m["id"] for m in self.messages(session)],
                         ["c-2", "c-1"])

    def test_bad_details_are_refused_and_store_nothing(self):
        session = new_session()
        for message, part in [
                ({"id": 7}, '"id" must be a string'),
                ({"id": "has space"}, "[A-Za-z0-9._:@-]"),
                ({"created_at": "last tuesday"}, "RFC 3339"),
                ({"created_at": 1764616497}, "RFC 3339"),
                ({"metadata": ["a"]}, '"metadata" must be an object'),
                ({"metadata": "a"}, '"metadata" must be an object'),
                ({"metadata": {"text": "x" * 100}}, "at most 64 are kept")]:
            with self.subTest(message=message):
                self.assertError(self.server.post_memory(
                    session, [{"role": "Human", "content": "x", **message}]),
                    400, part)
        self.assertError(self.server.post_memory(session, [
            {"role": "Human", "content": "x", "id": "same"},
            {"role": "AI", "content": "y", "id": "same"}]),
            400, "message 1 repeats the id of message 0")
        self.assertEqual(self.stored_count(session), 0)

    def test_messages_stored_before_ids_keep_their_shape(self):
        session = new_session()
        self.redis.command("RPUSH", f"motorhead:session:{{{session}}}:messages",
                           json.dumps({"seq": 1, "role": "Human",
                                       "content": "from before"}))
        self.assertEqual(self.messages(session),
                         [{"role": "Human", "content": "from before"}])


class LargePostTest(ServerTestCase):
    """A POST of more messages than a Redis command takes from a script's
    stack (about 8,000 arguments) is stored whole, archived whole, and
    retried as a whole."""

    server_env = {"MOTORHEAD_MAX_WINDOW_SIZE": WINDOW,
                  "MOTORHEAD_MAX_MESSAGES_PER_POST": 20000,
                  "MOTORHEAD_LONG_TERM_MEMORY": "true"}
    COUNT = 9001

    def key(self, session, name):
        return f"motorhead:session:{{{session}}}:{name}"

    def test_every_message_of_a_large_post_is_stored_once(self):
        session = new_session()
        messages = [{"role": "Human", "content": f"m{i}", "id": f"big-{i}"}
                    for i in range(self.COUNT)]
        for _ in range(2):  # the second is a retry: it stores nothing
            self.assertEqual(self.server.post_memory(session, messages)[:2],
                             (200, {"status": "Ok"}))
            self.assertEqual(self.redis.command(
                "HLEN", self.key(session, "ids")), self.COUNT)
            self.assertEqual(self.redis.command(
                "HLEN", self.key(session, "archive")), self.COUNT)
            self.assertEqual(self.redis.command(
                "HGET", self.key(session, "meta"), "message_count"),
                str(self.COUNT))
        self.assertEqual(self.server.get_memory(session)["messages"][0]
                         ["content"], f"m{self.COUNT - 1}")
        repeated = messages[:self.COUNT // 2] + [
            {"role": "AI", "content": "new", "id": "big-new"}]
        self.assertError(self.server.post_memory(session, repeated), 409,
                         f"{self.COUNT // 2} of the {self.COUNT // 2 + 1} "
                         "message ids are stored already")
        self.assertEqual(self.redis.command(
            "HLEN", self.key(session, "ids")), self.COUNT)


class SessionResourceTest(ServerTestCase):
    """GET /sessions/{id} shows a session's metadata, times, message count
    and namespaces; PATCH merges metadata into it (RFC 7396)."""

    server_env = {"MOTORHEAD_MAX_WINDOW_SIZE": WINDOW,
                  "MOTORHEAD_MAX_METADATA_BYTES": 64}

    def info(self, session):
        status, body, _ = self.server.request("GET", f"/sessions/{session}")
        self.assertEqual(status, 200, body)
        return body

    def patch(self, session, body, query=""):
        return self.server.request("PATCH", f"/sessions/{session}{query}",
                                   body)

    def test_a_posted_session_shows_its_times_count_and_namespaces(self):
        session = new_session()
        before = time.time()
        self.server.post_memory(session, [turn(0), turn(1)], namespace="ns-a")
        first = self.info(session)
        self.assertEqual(first["session_id"], session)
        self.assertIsNone(first["metadata"])
        self.assertEqual(first["message_count"], 2)
        self.assertEqual(first["namespaces"], ["ns-a"])
        created = datetime.fromisoformat(
            first["created_at"].replace("Z", "+00:00")).timestamp()
        self.assertTrue(before - 1 <= created <= time.time() + 1, first)
        time.sleep(0.01)
        for i in range(2, WINDOW + 3):  # past the window: folds happen
            self.server.post_memory(session, [turn(i)], namespace="ns-b")
        later = self.info(session)
        self.assertEqual(later["message_count"], WINDOW + 3)
        self.assertEqual(later["created_at"], first["created_at"])
        self.assertGreater(later["updated_at"], first["updated_at"])
        self.assertEqual(later["namespaces"], ["ns-a", "ns-b"])

    def test_an_unknown_or_deleted_session_is_404(self):
        session = new_session()
        self.assertError(self.server.request("GET", f"/sessions/{session}"),
                         404, session)
        self.server.post_memory(session, [turn(0)])
        self.server.request("DELETE", f"/sessions/{session}/memory")
        self.assertError(self.server.request("GET", f"/sessions/{session}"),
                         404, session)

    def test_patch_merges_metadata(self):
        session = new_session()
        self.server.post_memory(session, [turn(0)])
        status, body, _ = self.patch(session, {"metadata": {
            "user": "ann", "plan": {"tier": "pro", "seats": 3}}})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["metadata"],
                         {"user": "ann", "plan": {"tier": "pro", "seats": 3}})
        self.patch(session, {"metadata": {"plan": {"seats": None}, "lang": "de"}})
        self.assertEqual(self.info(session)["metadata"],
                         {"user": "ann", "plan": {"tier": "pro"}, "lang": "de"})
        self.patch(session, {"metadata": None})
        self.assertIsNone(self.info(session)["metadata"])
        # A PATCH touches the session; its messages stay as they were.
        self.assertEqual(self.info(session)["message_count"], 1)
        self.assertEqual(len(self.server.get_memory(session)["messages"]), 1)

    def test_concurrent_patches_all_land(self):
        session = new_session()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(
                lambda i: self.patch(session, {"metadata": {f"k{i}": i}})[0],
                range(8)))
        self.assertEqual(answers, [200] * 8)
        self.assertEqual(self.info(session)["metadata"],
                         {f"k{i}": i for i in range(8)})

    def test_patch_creates_a_session_in_its_namespace(self):
        session = new_session()
        status, body, _ = self.patch(session, {"metadata": {"user": "bo"}},
                                     "?namespace=ns-p")
        self.assertEqual(status, 200, body)
        self.assertEqual((body["message_count"], body["namespaces"]),
                         (0, ["ns-p"]))
        self.assertIsNotNone(body["created_at"])
        status, listed, _ = self.server.request(
            "GET", "/sessions?namespace=ns-p&size=100")
        self.assertIn(session, listed)
        self.assertEqual(self.server.get_memory(session)["messages"], [])

    def test_bad_patches_are_refused_and_change_nothing(self):
        session = new_session()
        self.patch(session, {"metadata": {"keep": 1}})
        for body, part in [
                ([], "must be a JSON object"),
                ({"metadata": [1]}, '"metadata" must be an object or null'),
                ({"metadata": "x"}, '"metadata" must be an object or null'),
                ({"message_count": 3}, '"message_count" cannot be changed'),
                ({"metadata": {"text": "x" * 100}}, "at most 64 are kept"),
                ({"metadata": {"a": "x" * 50}}, "would be")]:
            with self.subTest(body=body):
                self.assertError(self.patch(session, body), 400, part)
        self.assertError(self.server.request(
            "PATCH", f"/sessions/{session}", raw_body="{bad"), 400, "malformed")
        self.assertError(self.patch(session, {}, "?namespace=a%20b"), 400,
                         "namespace")
        self.assertEqual(self.info(session)["metadata"], {"keep": 1})

    def test_other_methods_are_405(self):
        self.assertError(self.server.request("POST", "/sessions/x", {}), 405)


class BadInputTest(ServerTestCase):

    def post_raw(self, raw, session="bad-input"):
        return self.server.request("POST", f"/sessions/{session}/memory",
                                   raw_body=raw)

    def test_malformed_json(self):
        self.assertError(self.post_raw("{not json"), 400, "malformed JSON")

    def test_a_body_that_is_not_declared_json_is_a_415(self):
        # A page may send text/plain, a form or an untyped blob to any site
        # without a preflight: such a write must change nothing.
        session = new_session()
        body = json.dumps({"messages": [turn(0)], "context": "forged"})
        for content_type in ("text/plain", "text/plain;charset=UTF-8",
                             "application/x-www-form-urlencoded",
                             "multipart/form-data; boundary=x", None):
            headers = {"Content-Type": content_type} if content_type else {}
            for method, path in (("POST", f"/sessions/{session}/memory"),
                                 ("PATCH", f"/sessions/{session}"),
                                 ("POST", f"/sessions/{session}/retrieval")):
                with self.subTest(content_type=content_type, path=path):
                    status, answer = self.raw_request(method, path, body,
                                                      headers)
                    self.assertEqual(status, 415, answer)
                    self.assertIn("application/json", answer["error"])
        self.assertEqual(self.server.get_memory(session)["messages"], [])

    def test_json_content_types_are_accepted(self):
        for content_type in ("application/json",
                             "application/json; charset=utf-8",
                             "Application/JSON", "application/merge-patch+json"):
            with self.subTest(content_type=content_type):
                status, answer = self.raw_request(
                    "POST", f"/sessions/{new_session()}/memory",
                    json.dumps({"messages": [turn(0)]}),
                    {"Content-Type": content_type})
                self.assertEqual(status, 200, answer)

    def raw_request(self, method, path, body, headers):
        """A request with exactly `headers` (the harness adds a JSON
        Content-Type to everything else)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port,
                                          timeout=20)
        try:
            conn.putrequest(method, path)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body.encode())
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    def test_empty_body(self):
        self.assertError(self.post_raw(""), 400, "malformed JSON")

    def test_body_not_an_object(self):
        self.assertError(self.post_raw("[1, 2]"), 400, "JSON object")

    def test_missing_messages(self):
        self.assertError(self.post_raw('{"context": "x"}'), 400, "messages")

    def test_messages_not_an_array(self):
        self.assertError(self.post_raw('{"messages": "hi"}'), 400, "array")

    def test_message_not_an_object(self):
        self.assertError(self.post_raw('{"messages": ["hi"]}'), 400, "object")

    def test_missing_role(self):
        self.assertError(self.post_raw('{"messages": [{"content": "x"}]}'),
                         400, "role")

    def test_mistyped_content(self):
        self.assertError(self.post_raw(
            '{"messages": [{"role": "Human", "content": 3}]}'), 400, "content")

    def test_mistyped_context(self):
        self.assertError(self.post_raw('{"messages": [], "context": 3}'),
                         400, "context")

    def test_bad_input_loses_nothing(self):
        session = new_session()
        self.server.post_memory(session, [turn(0)])
        self.post_raw('{"messages": [{"role": 1}]}', session)
        self.assertEqual(len(self.server.get_memory(session)["messages"]), 1)

    def test_page_and_size_bounds(self):
        for query in ("page=0", "page=101", "size=0", "size=101", "page=abc",
                      "size=-3"):
            with self.subTest(query=query):
                self.assertError(self.server.request("GET", f"/sessions?{query}"),
                                 400)

    def test_invalid_session_id(self):
        self.assertError(self.server.request("GET", "/sessions/a%20b/memory"),
                         400, "session id")
        self.assertError(self.server.request(
            "GET", "/sessions/" + "x" * 300 + "/memory"), 400, "session id")

    def test_invalid_namespace(self):
        self.assertError(self.server.request(
            "POST", "/sessions/ok/memory?namespace=a%7Bb", {"messages": []}),
            400, "namespace")

    def test_bad_percent_encoding(self):
        self.assertError(self.server.request("GET", "/sessions/%zz/memory"), 400)

    def test_unknown_path(self):
        self.assertError(self.server.request("GET", "/nothing/here"), 404)
        self.assertError(self.server.request("GET", "/sessions/a/b"), 404)

    def test_wrong_method(self):
        status, body, headers = self.server.request("PUT", "/sessions/a/memory",
                                                    {"messages": []})
        self.assertEqual(status, 405)
        self.assertIn("error", body)
        self.assertEqual(headers["Allow"], "GET, POST, DELETE")
        self.assertError(self.server.request("POST", "/sessions"), 405)

    def test_retrieval_is_disabled(self):
        self.assertError(self.server.request(
            "POST", "/sessions/a/retrieval", {"text": "hello"}), 400,
            "long-term memory is disabled")

    def raw_exchange(self, data):
        with socket.create_connection(("127.0.0.1", self.server.port)) as sock:
            sock.sendall(data)
            return sock.recv(4096).decode()

    def test_requests_pipelined_or_split_across_writes_are_all_answered(self):
        # A request that arrives whole with its first read is parsed at
        # once, and what follows it in the buffer is the next request; one
        # that arrives in parts is read on until it is whole.
        session = new_session()
        body = json.dumps({"messages": [{"role": "Human", "content": "hi"}]})
        post = (f"POST /sessions/{session}/memory HTTP/1.1\r\nHost: x\r\n"
                f"Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n{body}").encode()
        get = f"GET /sessions/{session}/memory HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        with socket.create_connection(("127.0.0.1", self.server.port),
                                      timeout=5) as sock:
            sock.sendall(post + get)
            stream = sock.makefile("rb")
            answers = [read_answer(stream) for _ in range(2)]
            sock.sendall(post[:40])
            time.sleep(0.2)
            sock.sendall(post[40:-5])
            time.sleep(0.2)
            sock.sendall(post[-5:])
            answers.append(read_answer(stream))
        self.assertEqual([status for status, _ in answers], [200, 200, 200])
        self.assertEqual(json.loads(answers[1][1])["messages"][0]["content"], "hi")
        self.assertEqual(len(self.server.get_memory(session)["messages"]), 2)

    def test_body_too_large(self):
        # Refused on the header alone, before the body is read.
        answer = self.raw_exchange(
            b"POST /sessions/big/memory HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 2097152\r\n\r\n")
        self.assertTrue(answer.startswith("HTTP/1.1 413"), answer)
        self.assertIn('{"error":', answer)

    def test_a_client_sending_a_body_over_the_limit_reads_the_413(self):
        # The client sends its whole body before reading: closing with that
        # body unread would reset the connection under the answer.
        url = f"http://127.0.0.1:{self.server.port}/sessions/big/memory"
        for _ in range(3):
            request = urllib.request.Request(
                url, data=b"x" * (2 << 20), method="POST",
                headers={"Content-Type": "application/json"})
            with self.assertRaises(urllib.error.HTTPError) as raised:
                urllib.request.urlopen(request, timeout=20)
            self.assertEqual(raised.exception.code, 413)
            self.assertIn("larger than", json.loads(raised.exception.read())["error"])

    def test_a_chunked_body_over_the_limit_gets_a_413(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port,
                                          timeout=20)
        try:
            chunks = (b"x" * 65536 for _ in range(32))
            conn.request("POST", "/sessions/big/memory", body=chunks,
                         encode_chunked=True,
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            self.assertEqual(response.status, 413)
            self.assertIn("error", json.loads(response.read()))
        finally:
            conn.close()

    def test_deeply_nested_json_is_a_400_not_a_crash(self):
        self.assertError(self.post_raw("[" * 200_000), 400, "malformed JSON")
        self.assertError(self.server.request(
            "POST", "/sessions/a/retrieval", raw_body="[" * 200_000), 400)
        self.assertEqual(self.server.request("GET", "/healthz")[0], 200)

    def test_deep_nesting_in_a_valid_body_is_a_400_not_a_crash(self):
        # Valid JSON, parsed without recursion; what is done with it next
        # (metadata compacted, merged, compared) must not recurse as deep.
        deep = '{"a":' + "[" * 450_000 + "]" * 450_000 + "}"
        for method, path, body in [
                ("POST", "/sessions/deep/memory",
                 '{"messages":[{"role":"Human","content":"x","metadata":'
                 + deep + "}]}"),
                ("PATCH", "/sessions/deep", '{"metadata":' + deep + "}")]:
            with self.subTest(method=method, path=path):
                self.assertError(self.server.request(method, path,
                                                     raw_body=body),
                                 400, "nests deeper than")
        self.assertEqual(self.server.request("GET", "/healthz")[0], 200)

    def test_bytes_after_a_nul_are_not_ignored(self):
        session = new_session()
        self.assertError(self.post_raw(b'{"messages":[]}\x00garbage', session),
                         400, "NUL")
        self.assertError(self.post_raw(
            b'{"messages":[{"role":"a","content":"b"}]}\x00', session), 400)
        self.assertEqual(self.server.get_memory(session)["messages"], [])

    def test_invalid_utf8_is_refused_and_nothing_stored(self):
        session = new_session()
        for bad in (b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"ok\xe2\x82",
                    b"\xf4\x90\x80\x80"):
            with self.subTest(bytes=bad):
                self.assertError(self.post_raw(
                    b'{"messages":[{"role":"Human","content":"' + bad + b'"}]}',
                    session), 400, "not valid UTF-8")
                self.assertError(self.post_raw(
                    b'{"messages":[],"context":"' + bad + b'"}', session),
                    400, "not valid UTF-8")
        # Escapes that decode to no character: a lone low surrogate, a
        # high one without its pair, a low one before a high one.
        for escape in (rb"\udc00", rb"\udfff", rb"\ud800x", rb"\udc00\ud800"):
            with self.subTest(escape=escape):
                self.assertError(self.post_raw(
                    b'{"messages":[{"role":"Human","content":"' + escape
                    + b'"}]}', session), 400)
                self.assertError(self.post_raw(
                    b'{"messages":[],"context":"' + escape + b'"}', session),
                    400)
        # Still decodable by any JSON client: nothing was stored.
        self.assertEqual(self.server.get_memory(session),
                         {"messages": [], "context": None, "tokens": 0})

    def test_invalid_utf8_in_the_url_is_refused(self):
        for target in ("/%FF", "/sessions/%C3/memory", "/sessions?x=%ED%A0%80",
                       "/sessions?%FF=1", "/cluster?session=%FE"):
            with self.subTest(target=target):
                self.assertError(self.server.request("GET", target), 400,
                                 "not valid UTF-8")

    def test_duplicate_keys_are_refused(self):
        self.assertError(self.post_raw(
            '{"messages":[],"messages":[{"role":"a","content":"b"}]}'),
            400, 'duplicate key "messages"')

    def test_malformed_http(self):
        answer = self.raw_exchange(b"NOT HTTP AT ALL\r\n\r\n")
        self.assertTrue(answer.startswith("HTTP/1.1 400"), answer)
        self.assertIn('{"error":', answer)


class AuthTest(ServerTestCase):
    server_env = {"MOTORHEAD_API_KEYS": " k1 , k2 "}

    def test_the_bearer_scheme_is_case_insensitive_and_keys_trimmed(self):
        for header in ("Bearer k1", "bearer k2", "BEARER  k1 "):
            with self.subTest(header=header):
                self.assertEqual(self.server.request(
                    "GET", "/sessions/a/memory",
                    headers={"Authorization": header})[0], 200)

    def test_no_route_can_be_probed_without_a_key(self):
        # 401 comes before 404 and 405.
        self.assertError(self.server.request("GET", "/nothing/here"), 401)
        self.assertError(self.server.request("PUT", "/sessions/a/memory",
                                             {"messages": []}), 401)
        key = {"Authorization": "Bearer k1"}
        self.assertError(self.server.request("GET", "/nothing/here",
                                             headers=key), 404)
        self.assertError(self.server.request("PUT", "/sessions/a/memory",
                                             {"messages": []}, headers=key), 405)

    def test_keys_are_required_except_for_health(self):
        self.assertError(self.server.request("GET", "/sessions/a/memory"), 401)
        self.assertError(self.server.request(
            "GET", "/sessions/a/memory", headers={"Authorization": "Bearer nope"}),
            401)
        status, _, _ = self.server.request(
            "GET", "/sessions/a/memory", headers={"Authorization": "Bearer k2"})
        self.assertEqual(status, 200)
        self.assertEqual(self.server.request("GET", "/")[0], 200)
        self.assertEqual(self.server.request("GET", "/healthz")[0], 200)


class LifecycleTest(TestCase):
    """Restarts of the server and of Redis."""

    def setUp(self):
        self.redis = RedisServer()
        self.redis.start()
        self.server = Motorhead(self.redis.url,
                                MOTORHEAD_MAX_WINDOW_SIZE=WINDOW,
                                MOTORHEAD_REDIS_TIMEOUT_MS=500)
        self.server.start()

    def tearDown(self):
        self.server.close(signal.SIGKILL)
        self.redis.remove()

    def test_data_survives_a_server_restart(self):
        session = new_session()
        self.server.post_memory(session, [turn(i) for i in range(7)],
                                namespace="restart")
        self.assertTrue(wait_until(
            lambda: self.server.get_memory(session)["context"] is not None))
        before = self.server.get_memory(session)
        self.assertEqual(self.server.stop(), 0)
        self.server.start()
        self.assertEqual(self.server.get_memory(session), before)
        self.assertEqual(self.server.request("GET", "/sessions?namespace=restart")[1],
                         [session])

    def test_an_acknowledged_post_survives_sigkill(self):
        session = new_session()
        self.assertEqual(self.server.post_memory(session, [turn(0)])[0], 200)
        self.server.stop(signal.SIGKILL)
        self.server.start()
        self.assertEqual(self.server.get_memory(session)["messages"], [turn(0)])

    def test_redis_restart_while_the_server_runs(self):
        session = new_session()
        self.server.post_memory(session, [turn(0)])
        self.redis.stop()
        self.assertError(self.server.post_memory(new_session(), [turn(1)]), 503)
        self.assertError(self.server.request("GET", "/readyz"), 503)
        self.assertError(self.server.request("GET", "/sessions"), 503)
        self.assertEqual(self.server.request("GET", "/healthz")[0], 200)
        self.redis.start()
        # The server reconnects by itself on the next request.
        self.assertTrue(wait_until(
            lambda: self.server.request("GET", "/readyz")[0] == 200))
        self.assertEqual(self.server.post_memory(session, [turn(1)])[0], 200)
        self.assertEqual(self.server.get_memory(session)["messages"],
                         [turn(1), turn(0)])

    def test_a_read_under_a_valid_lease_makes_no_redis_call(self):
        session = new_session()
        self.assertEqual(self.server.post_memory(session, [turn(0)])[0], 200)
        self.assertEqual(len(self.server.get_memory(session)["messages"]), 1)
        before = self.redis_calls()
        for _ in range(200):
            self.assertEqual(len(self.server.get_memory(session)["messages"]), 1)
        # The node reads the membership table (and renews its lease) every
        # heartbeat, whatever the traffic; 200 reads add nothing to that.
        self.assertLess(self.redis_calls() - before, 20)

    def redis_calls(self):
        """Commands Redis ran so far, but INFO."""
        stats = self.redis.command("INFO", "commandstats")
        return sum(int(line.split("calls=")[1].split(",")[0])
                   for line in stats.splitlines()
                   if line.startswith("cmdstat_")
                   and not line.startswith("cmdstat_info:"))

    def test_scripts_travel_once_and_survive_a_script_flush(self):
        session = new_session()
        for i in range(3):
            self.assertEqual(self.server.post_memory(session, [turn(i)])[0], 200)
        # Each script is loaded once, then called by its SHA-1.
        stats = self.redis.command("INFO", "commandstats")
        self.assertIn("cmdstat_evalsha:", stats)
        self.assertNotIn("cmdstat_eval:", stats)
        self.redis.command("SCRIPT", "FLUSH")
        # The first write after the flush finds no script: not applied, a
        # 503 that says retry; the connection loads its scripts again.
        first = self.server.post_memory(session, [turn(3)])
        if first[0] != 200:
            self.assertError(first, 503)
            self.assertEqual(self.server.post_memory(session, [turn(3)])[0], 200)
        self.assertEqual(self.server.get_memory(session)["messages"],
                         [turn(i) for i in reversed(range(4))])

    def assertError(self, response, status):
        self.assertEqual(response[0], status, response[1])
        self.assertIn("error", response[1])


class HungRedisTest(TestCase):
    """A Redis that stops answering: requests end in 504 once the request
    timeout passes, and the server serves again when Redis comes back."""

    def setUp(self):
        self.redis = RedisServer()
        self.redis.start()
        self.server = Motorhead(self.redis.url,
                                MOTORHEAD_REQUEST_TIMEOUT_MS=300,
                                MOTORHEAD_REDIS_TIMEOUT_MS=5000)
        self.server.start()

    def tearDown(self):
        self.redis.process.send_signal(signal.SIGCONT)
        self.server.close(signal.SIGKILL)
        self.redis.remove()

    def test_a_hung_redis_gives_504_then_recovers(self):
        session = new_session()
        self.server.post_memory(session, [turn(0)])
        self.redis.process.send_signal(signal.SIGSTOP)
        status, body, _ = self.server.request("GET", f"/sessions/{new_session()}/memory")
        self.assertEqual(status, 504, body)
        self.assertIn("timed out", body["error"])
        self.redis.process.send_signal(signal.SIGCONT)
        self.assertTrue(wait_until(
            lambda: self.server.request("GET", "/readyz")[0] == 200))
        self.assertEqual(self.server.get_memory(session)["messages"], [turn(0)])

    def test_a_post_answered_504_may_be_stored_and_its_retry_stores_it_once(self):
        session = new_session()
        self.server.post_memory(session, [turn(0)])
        message = {**turn(1), "id": "m-1"}
        self.redis.process.send_signal(signal.SIGSTOP)
        status, body, _ = self.server.post_memory(session, [message])
        self.assertEqual(status, 504, body)
        self.assertIn("may still", body["error"])
        self.assertIn("read the session", body["error"])
        self.redis.process.send_signal(signal.SIGCONT)
        self.assertTrue(wait_until(
            lambda: self.server.request("GET", "/readyz")[0] == 200))
        # The write went on once Redis answered: it is stored, and the
        # retry the answer asks for stores nothing twice.
        self.assertEqual(self.server.get_memory(session)["messages"],
                         [turn(1), turn(0)])
        self.assertEqual(self.server.post_memory(session, [message])[0], 200)
        self.assertEqual(self.server.get_memory(session)["messages"],
                         [turn(1), turn(0)])


class OutOfDescriptorsTest(TestCase):
    """With few file descriptors, accepting fails with EMFILE for a while;
    the server must accept again once connections close."""

    def setUp(self):
        self.redis = RedisServer()
        self.redis.start()
        self.server = Motorhead(self.redis.url, open_files=64)
        self.server.start()

    def tearDown(self):
        self.server.close(signal.SIGKILL)
        self.redis.remove()

    def test_accepting_resumes_after_emfile(self):
        idle = []
        for _ in range(80):
            sock = socket.socket()
            sock.settimeout(5)
            sock.connect(("127.0.0.1", self.server.port))
            idle.append(sock)
        time.sleep(0.3)  # the server accepts what it can, then hits EMFILE
        for sock in idle:
            sock.close()
        self.assertTrue(wait_until(
            lambda: self._healthz() == 200, timeout=10),
            "the server stopped accepting:\n" + self.server.output()[-2000:])

    def _healthz(self):
        try:
            return self.server.request("GET", "/healthz")[0]
        except OSError:
            return None


class HarnessTest(TestCase):

    def test_a_loading_redis_is_waited_for(self):
        """Redis answers -LOADING while it reads its data after a restart."""
        answers = [b"-LOADING Redis is loading the dataset in memory\r\n"] * 3
        answers.append(b"+PONG\r\n")
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def serve():
            for answer in answers:
                conn, _ = listener.accept()
                with conn:
                    conn.recv(1024)
                    conn.sendall(answer)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        redis = RedisServer()
        redis.port = listener.getsockname()[1]
        try:
            self.assertTrue(wait_until(redis._answers_ping, timeout=5))
        finally:
            thread.join(timeout=5)
            listener.close()
            shutil.rmtree(redis.dir, ignore_errors=True)


class CommandLineTest(TestCase):

    def test_help_lists_the_options(self):
        result = subprocess.run([MOTORHEAD, "--help"], capture_output=True,
                                text=True, timeout=10)
        self.assertEqual(result.returncode, 0)
        for name in ("PORT", "REDIS_URL", "MOTORHEAD_MAX_WINDOW_SIZE",
                     "MOTORHEAD_SESSION_IDLE_SECONDS", "OPENAI_API_KEY"):
            self.assertIn(name, result.stdout)

    def test_invalid_settings_exit_1_with_a_message(self):
        result = subprocess.run([MOTORHEAD], capture_output=True, text=True,
                                timeout=10,
                                env={"MOTORHEAD_MAX_WINDOW_SIZE": "lots",
                                     "REDIS_URL": "mysql://x"})
        self.assertEqual(result.returncode, 1)
        self.assertIn("MOTORHEAD_MAX_WINDOW_SIZE", result.stderr)
        self.assertIn("REDIS_URL", result.stderr)

    def test_api_keys_set_but_empty_refuse_to_start(self):
        result = subprocess.run([MOTORHEAD], capture_output=True, text=True,
                                timeout=10, env={"MOTORHEAD_API_KEYS": " , "})
        self.assertEqual(result.returncode, 1)
        self.assertIn("MOTORHEAD_API_KEYS", result.stderr)

    def test_unknown_argument_exits_1(self):
        result = subprocess.run([MOTORHEAD, "--bogus"], capture_output=True,
                                text=True, timeout=10)
        self.assertEqual(result.returncode, 1)


if __name__ == "__main__":
    unittest.main()
