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

from harness import FakeOpenAI, Motorhead, RedisServer, TestCase, wait_until

WINDOW = 4


def new_session():
    return "s-" + uuid.uuid4().hex


def message(text, role="Human"):
    return {"role": role, "content": text}


class RaceTestCase(TestCase):
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
        # Keeps the order in which requests reach the server, even on a
        # loaded machine; race tests stall Redis long enough for two.
        time.sleep(0.1)
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
        stall = self.stall_redis(0.6)
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
        stall = self.stall_redis(0.6)
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
        stall = self.stall_redis(0.6)
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


class Operation:
    """One request of the randomized test: what it was, when it ran, and
    whether it was acknowledged (True), refused (False) or is of unknown
    outcome (None: 5xx, Redis may have applied it)."""

    def __init__(self, session, kind, **payload):
        self.session, self.kind, self.payload = session, kind, payload
        self.start = self.end = None
        self.acked = None

    def overlaps(self, other):
        return self.start < other.end and other.start < self.end


def outcome_of(status):
    if status == 200:
        return True
    if status >= 500:
        return None
    return False


class RandomizedConcurrencyTest(RaceTestCase):
    """Clients interleave POST, context replacement, DELETE and GET on a few
    sessions, with a small window, a slow provider that fails every third
    call and a Redis that stalls now and then (so some writes end in an
    unknown outcome). The end state is checked against what was
    acknowledged: every acknowledged message is in the window or folded
    into the summary, exactly once, unless a later context or DELETE
    replaced it; nothing survives an acknowledged DELETE; the namespace
    listings match the session's own list."""

    SESSIONS = 3
    CLIENTS = 8
    OPERATIONS = 120  # per client
    NAMESPACES = ["rand-a", "rand-b"]
    server_env = {"MOTORHEAD_REDIS_TIMEOUT_MS": 250}

    def setUp(self):
        super().setUp()
        self.provider.control(latency_ms=20, fail_every=3)
        self.sessions = [new_session() for _ in range(self.SESSIONS)]
        self.operations = []
        self.lock = threading.Lock()

    def random_operation(self, rng):
        session = rng.choice(self.sessions)
        roll = rng.random()
        if roll < 0.5:
            texts = ["m" + uuid.uuid4().hex[:10] for _ in range(rng.randint(1, 2))]
            return Operation(session, "post", texts=texts,
                             ns=rng.choice(self.NAMESPACES + [None]))
        if roll < 0.62:
            return Operation(session, "context", text="CTX" + uuid.uuid4().hex[:10])
        if roll < 0.72:
            return Operation(session, "delete", ns=rng.choice(self.NAMESPACES + [None]))
        return Operation(session, "get")

    def run_operation(self, op):
        op.start = time.monotonic()
        if op.kind == "post":
            status = self.server.post_memory(
                op.session, [message(t) for t in op.payload["texts"]],
                namespace=op.payload["ns"])[0]
        elif op.kind == "context":
            status = self.server.post_memory(op.session, [], op.payload["text"])[0]
        elif op.kind == "delete":
            ns = op.payload["ns"]
            status = self.server.request(
                "DELETE", f"/sessions/{op.session}/memory"
                + (f"?namespace={ns}" if ns else ""))[0]
        else:
            status, op.view, _ = self.server.request(
                "GET", f"/sessions/{op.session}/memory")
        op.end = time.monotonic()
        op.acked = outcome_of(status)
        self.assertNotEqual(op.acked, False, f"{op.kind} answered {status}")

    def client(self, seed):
        import random
        rng = random.Random(seed)
        for _ in range(self.OPERATIONS):
            op = self.random_operation(rng)
            self.run_operation(op)
            with self.lock:
                self.operations.append(op)
            time.sleep(rng.random() * 0.01)

    def stall_now_and_then(self, stop):
        while not stop.wait(0.6):
            self.redis.command("DEBUG", "SLEEP", 0.4)

    def observe_redis(self, stop):
        """Notes when each message is first seen in Redis."""
        while not stop.wait(0.02):
            for session in self.sessions:
                for stored in self.stored_messages(session):
                    self.seen_in_redis.setdefault(stored["content"],
                                                  (session, time.monotonic()))

    def test_end_state_matches_what_was_acknowledged(self):
        stop = threading.Event()
        self.seen_in_redis = {}
        helpers = [threading.Thread(target=fn, args=(stop,))
                   for fn in (self.stall_now_and_then, self.observe_redis)]
        for helper in helpers:
            helper.start()
        try:
            clients = [self.pool.submit(self.client, seed) for seed in range(self.CLIENTS)]
            for future in clients:
                future.result()
        finally:
            stop.set()
            for helper in helpers:
                helper.join()
        for session in self.sessions:
            self.assertTrue(wait_until(lambda: self.settled(session), timeout=30))
        time.sleep(0.5)  # folds in flight land
        unknown = sum(op.acked is None for op in self.operations)
        print(f"\n{len(self.operations)} operations, {unknown} of unknown outcome")
        for session in self.sessions:
            with self.subTest(session=session):
                self.check_session(session, [op for op in self.operations
                                             if op.session == session])

    def check_session(self, session, ops):
        view = self.server.get_memory(session)
        window = [m["content"] for m in view["messages"]]
        context = view["context"] or ""
        self.assertEqual(view, self.server_view_from_redis(session))

        replacers = [op for op in ops if op.kind in ("context", "delete")]
        for post in (op for op in ops if op.kind == "post"):
            for text in post.payload["texts"]:
                seen = window.count(text) + context.count(text)
                self.assertLessEqual(seen, 1, f"{text} is there {seen} times")
                later = [r for r in replacers if r.end > post.start]
                erased = any(r.kind == "delete" and r.acked and r.start > post.end
                             for r in later)
                if erased:
                    self.assertEqual(seen, 0, f"{text} survived a DELETE")
                elif post.acked and not later:
                    self.assertEqual(seen, 1, f"acknowledged {text} was lost")

        for ctx in (op for op in ops if op.kind == "context"):
            text = ctx.payload["text"]
            later = [r for r in replacers if r is not ctx and r.end > ctx.start]
            if any(r.kind == "delete" and r.acked and r.start > ctx.end for r in later):
                self.assertNotIn(text, context, "a context survived a DELETE")
            elif ctx.acked and not later:
                self.assertIn(text, context, "the last acknowledged context was lost")

        self.check_gets(ops)
        self.check_store_of_record(session, ops, window, context)
        self.check_namespaces(session, ops)

    def check_gets(self, ops):
        """What each GET showed, against what was acknowledged before it."""
        replacers = [op for op in ops if op.kind in ("context", "delete")]
        writes = [op for op in ops if op.kind in ("post", "context")]
        for get in (op for op in ops if op.kind == "get" and op.acked):
            shown = [m["content"] for m in get.view["messages"]]
            context = get.view["context"] or ""
            for text in shown:
                self.assertLessEqual(shown.count(text) + context.count(text), 1)
            for delete in (r for r in replacers if r.kind == "delete" and r.acked
                           and r.end < get.start):
                for write in (w for w in writes if w.end < delete.start):
                    for text in write.payload.get("texts", [write.payload.get("text")]):
                        self.assertNotIn(text, shown + [context],
                                         "a GET showed what a DELETE removed")
                        self.assertNotIn(text, context,
                                         "a GET showed what a DELETE removed")
            for ctx in (r for r in replacers if r.kind == "context" and r.acked
                        and r.end < get.start):
                others = [r for r in replacers if r is not ctx
                          and r.end > ctx.start and r.start < get.end]
                if not others:
                    self.assertIn(ctx.payload["text"], context,
                                  "a GET lost an acknowledged context")

    def check_store_of_record(self, session, ops, window, context):
        """A message leaves Redis' list only by a fold that summarized it or
        by a DELETE."""
        folded = "\n".join(self.folded_texts())
        for text, (owner, seen) in self.seen_in_redis.items():
            if owner != session or text in window or text in context:
                continue
            deleted_later = any(op.kind == "delete" and op.acked is not False
                                and op.end > seen for op in ops)
            self.assertTrue(text in folded or deleted_later,
                            f"{text} left Redis unsummarized and undeleted")

    def server_view_from_redis(self, session):
        stored = self.stored_messages(session)
        meta = self.meta(session)
        window = [{"role": m["role"], "content": m["content"]}
                  for m in reversed(stored)][:WINDOW]
        return {"messages": window, "context": meta.get("context"),
                "tokens": int(meta.get("tokens", 0))}

    def check_namespaces(self, session, ops):
        meta = self.meta(session)
        own = set(json.loads(meta.get("namespaces", "[]")))
        for ns in self.NAMESPACES:
            listed = self.redis.command(
                "ZSCORE", f"motorhead:namespace:{{{ns}}}:sessions", session) is not None
            self.assertEqual(listed, ns in own, f"listing of {ns} vs {own}")
        in_index = self.redis.command("ZSCORE", "motorhead:sessions", session) is not None
        self.assertEqual(in_index, "next_seq" in meta)
        deletes = [op for op in ops if op.kind == "delete"]
        last_delete = max(deletes, key=lambda op: op.start, default=None)
        for ns in self.NAMESPACES:
            posts = [op for op in ops if op.kind == "post" and op.payload["ns"] == ns]
            if last_delete is None:
                must = any(op.acked for op in posts)
                if must:
                    self.assertIn(ns, own)
                continue
            if any(op.acked and op.start > last_delete.end for op in posts):
                self.assertIn(ns, own, f"a POST to {ns} after the last DELETE")
            elif last_delete.acked and all(op.end < last_delete.start for op in posts):
                self.assertNotIn(ns, own, f"{ns} survived the last DELETE")
