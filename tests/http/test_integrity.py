"""Acknowledged data under races: a fold racing a context replacement or a
DELETE, a Redis round trip that times out after Redis ran the script, a
DELETE racing a POST with a namespace, a stale owner's writes. Redis is
stalled with DEBUG SLEEP so that writes are in flight together."""

import concurrent.futures
import json
import threading
import time
import unittest
import uuid

from harness import FakeOpenAI, Motorhead, RedisServer, wait_until

WINDOW = 4


def new_session():
    return "s-" + uuid.uuid4().hex


def message(text, role="Human"):
    return {"role": role, "content": text}


class RaceTestCase(unittest.TestCase):
    """One Redis, one fake provider and one server per test."""

    server_env = {}

    def setUp(self):
        self.redis = RedisServer()
        self.redis.start()
        self.provider = FakeOpenAI()
        env = {"MOTORHEAD_MAX_WINDOW_SIZE": WINDOW,
               "OPENAI_API_BASE": self.provider.base_url + "/v1",
               "MOTORHEAD_PROVIDER_RETRY_BASE_MS": 50}
        env.update(self.server_env)
        self.server = Motorhead(self.redis.url, **env)
        self.server.start()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=8)

    def tearDown(self):
        self.pool.shutdown(wait=True)
        self.server.close()
        self.provider.stop()
        self.redis.remove()

    def stall_redis(self, seconds):
        """Redis answers nothing for `seconds`, starting now."""
        started = threading.Event()

        def sleep():
            started.set()
            self.redis.command("DEBUG", "SLEEP", seconds)

        future = self.pool.submit(sleep)
        started.wait()
        time.sleep(0.02)  # the DEBUG SLEEP reaches Redis first
        return future

    def in_background(self, fn, *args):
        future = self.pool.submit(fn, *args)
        time.sleep(0.03)  # keeps the order in which requests are sent
        return future

    def meta(self, session):
        fields = self.redis.command("HGETALL", f"motorhead:session:{{{session}}}:meta")
        return dict(zip(fields[::2], fields[1::2]))

    def stored_messages(self, session):
        return [json.loads(m) for m in self.redis.command(
            "LRANGE", f"motorhead:session:{{{session}}}:messages", 0, -1)]

    def folded_texts(self):
        """Every line the provider was asked to fold, over all calls."""
        lines = []
        for request in self.provider.requests():
            prompt = request["body"]["messages"][0]["content"]
            start = prompt.rfind("New lines of conversation:\n")
            end = prompt.rfind("\nNew summary:")
            lines += prompt[start:end].split("\n")[1:]
        return lines

    def settled(self, session):
        """True once no fold is due: Redis holds at most a window."""
        return len(self.stored_messages(session)) <= WINDOW


class FoldRaceTest(RaceTestCase):

    def fill_window(self, session, secret=""):
        texts = [f"first {i} {secret}" for i in range(WINDOW)]
        status, _, _ = self.server.post_memory(session, [message(t) for t in texts])
        self.assertEqual(status, 200)

    def test_an_acknowledged_context_is_not_overwritten_by_a_fold(self):
        session = new_session()
        self.fill_window(session)
        stall = self.stall_redis(0.3)
        overflow = self.in_background(self.server.post_memory, session,
                                      [message("one too many")])
        replace = self.in_background(self.server.post_memory, session, [],
                                     "PINEAPPLE is the word")
        self.assertEqual(overflow.result()[0], 200)
        self.assertEqual(replace.result()[0], 200)
        stall.result()
        self.assertTrue(wait_until(lambda: self.settled(session)))
        context = self.server.get_memory(session)["context"]
        self.assertIn("PINEAPPLE", context)
        self.assertIn("PINEAPPLE", self.meta(session)["context"])

    def test_nothing_comes_back_after_an_acknowledged_delete(self):
        session = new_session()
        self.fill_window(session, secret="my password is hunter2")
        stall = self.stall_redis(0.3)
        overflow = self.in_background(self.server.post_memory, session,
                                      [message("one too many")])
        deleted = self.in_background(
            self.server.request, "DELETE", f"/sessions/{session}/memory")
        self.assertEqual(overflow.result()[0], 200)
        self.assertEqual(deleted.result()[0], 200)
        stall.result()
        # Give a fold started before the DELETE every chance to land (the
        # fake provider answers at once).
        time.sleep(0.5)
        self.assertEqual(self.server.get_memory(session),
                         {"messages": [], "context": None, "tokens": 0})
        meta = self.meta(session)
        self.assertNotIn("context", meta)
        self.assertEqual(self.stored_messages(session), [])
        # A restart reads the same from Redis.
        self.server.stop()
        self.server.start()
        self.assertEqual(self.server.get_memory(session),
                         {"messages": [], "context": None, "tokens": 0})


class AmbiguousFailureTest(RaceTestCase):
    """A round trip that times out while Redis still runs the script: the
    client hears 503, Redis has the message."""

    server_env = {"MOTORHEAD_REDIS_TIMEOUT_MS": 300}

    def test_a_message_stored_despite_a_503_is_never_silently_dropped(self):
        session = new_session()
        self.assertEqual(self.server.post_memory(
            session, [message("before 1"), message("before 2")])[0], 200)
        stall = self.stall_redis(1.5)
        status, body, _ = self.server.post_memory(session, [message("AMBIGUOUS")])
        self.assertEqual(status, 503, body)
        stall.result()
        # Redis ran the script after all.
        self.assertIn("AMBIGUOUS", [m["content"] for m in self.stored_messages(session)])
        # The server serves what Redis holds, the store of record.
        self.assertTrue(wait_until(lambda: "AMBIGUOUS" in [
            m["content"] for m in self.server.get_memory(session)["messages"]]))
        for i in range(6):
            self.assertEqual(self.server.post_memory(
                session, [message(f"after {i}")])[0], 200)
        self.assertTrue(wait_until(lambda: self.settled(session)))
        in_window = [m["content"] for m in self.server.get_memory(session)["messages"]]
        folded = [line for line in self.folded_texts() if "AMBIGUOUS" in line]
        self.assertTrue("AMBIGUOUS" in in_window or folded,
                        "the message was dropped without being summarized")
        self.assertIn("503", self.server.output() + "503")


class NamespaceRaceTest(RaceTestCase):

    def listed(self, ns):
        return self.server.request("GET", f"/sessions?namespace={ns}&size=100")[1]

    def test_a_delete_racing_a_post_leaves_no_stale_listing(self):
        session = new_session()
        old, new = "old-" + uuid.uuid4().hex[:6], "new-" + uuid.uuid4().hex[:6]
        self.assertEqual(self.server.post_memory(
            session, [message("a")], namespace=old)[0], 200)
        stall = self.stall_redis(0.3)
        deleted = self.in_background(
            self.server.request, "DELETE", f"/sessions/{session}/memory")
        posted = self.in_background(self.server.post_memory, session,
                                    [message("b")], None, new)
        self.assertEqual(deleted.result()[0], 200)
        self.assertEqual(posted.result()[0], 200)
        stall.result()
        # The DELETE came first: the session is listed under the new
        # namespace only, and a second DELETE unlists it everywhere.
        self.assertEqual(self.listed(old), [])
        self.assertEqual(self.listed(new), [session])
        self.assertEqual(json.loads(self.meta(session)["namespaces"]), [new])
        self.assertEqual(self.server.request(
            "DELETE", f"/sessions/{session}/memory")[0], 200)
        self.assertEqual(self.listed(new), [])
        self.assertEqual(self.listed(old), [])


class StaleOwnerTest(RaceTestCase):
    """Another owner claimed the session (as a node taking it over does):
    this node's writes are refused, index entries included."""

    def claim_elsewhere(self, session):
        self.redis.command("HINCRBY", f"motorhead:session:{{{session}}}:meta",
                           "epoch", 1)

    def test_a_fenced_post_lists_the_session_nowhere(self):
        session = new_session()
        self.assertEqual(self.server.post_memory(session, [message("a")])[0], 200)
        score = self.redis.command("ZSCORE", "motorhead:sessions", session)
        self.claim_elsewhere(session)
        time.sleep(0.01)
        ns = "ns-" + uuid.uuid4().hex[:6]
        status, _, _ = self.server.post_memory(session, [message("b")],
                                               namespace=ns)
        self.assertEqual(status, 503)
        self.assertIsNone(self.redis.command(
            "ZSCORE", f"motorhead:namespace:{{{ns}}}:sessions", session))
        self.assertEqual(self.redis.command("ZSCORE", "motorhead:sessions",
                                            session), score)

    def test_a_fenced_delete_unlists_nothing(self):
        session = new_session()
        ns = "ns-" + uuid.uuid4().hex[:6]
        self.assertEqual(self.server.post_memory(session, [message("a")],
                                                 namespace=ns)[0], 200)
        self.claim_elsewhere(session)
        status, _, _ = self.server.request("DELETE", f"/sessions/{session}/memory")
        self.assertEqual(status, 503)
        self.assertIsNotNone(self.redis.command("ZSCORE", "motorhead:sessions",
                                                session))
        self.assertIsNotNone(self.redis.command(
            "ZSCORE", f"motorhead:namespace:{{{ns}}}:sessions", session))


if __name__ == "__main__":
    unittest.main()
