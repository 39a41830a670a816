"""Many tenants' requests, interleaved at random, against a model of what
each key may see and what the server acknowledged.

Three keys (an unscoped admin, acme and globex scoped to their namespaces)
POST new messages, retries and partial repeats (409), PATCH metadata, read
memory and sessions, delete sessions and whole namespaces, search and list
namespaces, over a few session ids, on a server that keeps two sessions in
memory (evictions all the time) while Redis stalls now and then. Requests
on distinct sessions run side by side. Every answer is checked against the
model; a write whose outcome is unknown (503, 504) is retried as a client
would, until its answer says what happened.

MOTORHEAD_TENANT_SEED and MOTORHEAD_TENANT_STEPS replay a run: a failure
names its seed and step."""

import concurrent.futures
import os
import random
import threading
import unittest
import uuid

from harness import Motorhead, RedisServer, TestCase

SEED = int(os.environ.get("MOTORHEAD_TENANT_SEED", "20261205"))
STEPS = int(os.environ.get("MOTORHEAD_TENANT_STEPS", "300"))
WINDOW = 6
WORDS = ["apple", "river", "cloud", "tiger", "piano", "lemon", "stone",
         "orbit"]
NAMESPACES = ["acme", "globex"]


class Key:
    def __init__(self, name, scope):
        self.name, self.scope = name, scope  # scope None: unscoped
        self.secret = f"{name}-{uuid.uuid4().hex}"

    def reaches(self, session):
        return (self.scope is None or bool(session.namespaces & self.scope)
                or session.holds_nothing())

    def allows(self, ns):
        return self.scope is None or ns in self.scope


KEYS = [Key("admin", None), Key("acme", {"acme"}), Key("globex", {"globex"})]


def with_namespace(path, ns):
    return path + (f"?namespace={ns}" if ns else "")


class SessionModel:
    """What the server acknowledged of one session since its last delete."""

    def __init__(self):
        self.messages = []  # (id, content), oldest first
        self.batches = []  # the ids of each acknowledged POST
        self.archive = set()  # every content, folded ones too
        self.namespaces = set()
        self.metadata = None

    def holds_nothing(self):
        return not self.messages and self.metadata is None

    def stored_ids(self):
        return {msg_id for msg_id, _ in self.messages} | {
            msg_id for batch in self.batches for msg_id in batch}


class Run:
    """One seeded run: the model, the server and the checks."""

    def __init__(self, test, rng):
        self.test, self.rng = test, rng
        self.prefix = uuid.uuid4().hex[:6]
        self.sessions = {f"{self.prefix}-s{i}": SessionModel()
                         for i in range(6)}
        self.next_id = 0
        self.definite = self.unknown = 0
        self.lock = threading.Lock()

    # -- requests -------------------------------------------------------

    def call(self, key, method, path, body=None):
        status, answer, _ = self.test.server.request(
            method, path, body,
            headers={"Authorization": f"Bearer {key.secret}"})
        with self.lock:
            if status in (503, 504):
                self.unknown += 1
            else:
                self.definite += 1
        return status, answer

    def write(self, key, method, path, body=None):
        """A write retried while its outcome is unknown, as a client
        would: the same request, ids included."""
        for _ in range(40):
            status, answer = self.call(key, method, path, body)
            if status not in (503, 504):
                return status, answer
        self.test.fail(f"{method} {path} never got a definite answer")

    # -- operations on one session ---------------------------------------

    def new_messages(self):
        messages = []
        for _ in range(self.rng.randint(1, 2)):
            self.next_id += 1
            text = " ".join(self.rng.sample(WORDS, 3))
            messages.append({"role": self.rng.choice(["Human", "AI"]),
                             "content": f"{text} {self.next_id}",
                             "id": f"id-{self.next_id}"})
        return messages

    def plan_post(self, sid):
        session = self.sessions[sid]
        key = self.rng.choice(KEYS)
        ns = self.pick_namespace(key)
        kind = self.rng.random()
        if session.batches and kind < 0.25:
            batch = self.rng.choice(session.batches)
            contents = dict(session.messages)
            messages = [{"role": "Human", "content": contents[i], "id": i}
                        for i in batch]
            kind = "retry"
        elif session.batches and kind < 0.35:
            old = self.rng.choice(sorted(session.stored_ids()))
            messages = [{"role": "Human", "content": "again", "id": old},
                        *self.new_messages()]
            kind = "partial"
        else:
            messages = self.new_messages()
            kind = "new"
        return lambda: self.post(key, sid, ns, kind, messages), \
            f"POST {sid} by {key.name} under {ns} ({kind})"

    def pick_namespace(self, key):
        if key.scope is None:
            return self.rng.choice([*NAMESPACES, None])
        own = sorted(key.scope)
        return self.rng.choice(own) if self.rng.random() < 0.9 else \
            self.rng.choice([n for n in NAMESPACES if n not in key.scope])

    @staticmethod
    def may_write(key, session, ns):
        """Whether `key` may write `session` under `ns`: it names one of its
        namespaces (an unscoped key need not) and reaches the session."""
        named = key.scope is None or (ns is not None and key.allows(ns))
        return named and key.reaches(session)

    def post(self, key, sid, ns, kind, messages):
        session = self.sessions[sid]
        status, answer = self.write(key, "POST",
                                    with_namespace(f"/sessions/{sid}/memory", ns),
                                    {"messages": messages})
        if not self.may_write(key, session, ns):
            return self.expect(status, 403, answer)
        if kind == "partial":
            return self.expect(status, 409, answer)
        self.expect(status, 200, answer)
        if kind == "new":
            session.messages += [(m["id"], m["content"]) for m in messages]
            session.batches.append([m["id"] for m in messages])
            session.archive |= {m["content"] for m in messages}
            if ns:
                session.namespaces.add(ns)

    def get_memory(self, key, sid):
        session = self.sessions[sid]
        status, answer = self.call(key, "GET", f"/sessions/{sid}/memory")
        if status in (503, 504):
            return
        if not key.reaches(session):
            return self.expect(status, 403, answer)
        self.expect(status, 200, answer)
        shown = [(m.get("id"), m["content"])
                 for m in reversed(answer["messages"])]
        held = session.messages
        self.test.assertLessEqual(len(shown), WINDOW, self.where)
        self.test.assertEqual(shown, held[len(held) - len(shown):],
                              self.where)
        if len(held) <= WINDOW:
            self.test.assertEqual(shown, held, self.where)

    def get_info(self, key, sid):
        session = self.sessions[sid]
        status, answer = self.call(key, "GET", f"/sessions/{sid}")
        if status in (503, 504):
            return
        self.check_info(key, session, status, answer)

    def check_info(self, key, session, status, answer):
        if not key.reaches(session):
            return self.expect(status, 403, answer)
        if session.holds_nothing() and not session.namespaces:
            return self.expect(status, 404, answer)
        self.expect(status, 200, answer)
        visible = session.namespaces if key.scope is None \
            else session.namespaces & key.scope
        self.test.assertEqual(sorted(answer["namespaces"]), sorted(visible),
                              self.where)
        self.test.assertEqual(answer["metadata"], session.metadata,
                              self.where)

    def patch(self, key, sid, ns, patch):
        session = self.sessions[sid]
        status, answer = self.write(key, "PATCH",
                                    with_namespace(f"/sessions/{sid}", ns),
                                    {"metadata": patch})
        if not self.may_write(key, session, ns):
            return self.expect(status, 403, answer)
        session.metadata = {**(session.metadata or {}), **patch}
        if ns:
            session.namespaces.add(ns)
        self.check_info(key, session, status, answer)

    def delete(self, key, sid):
        session = self.sessions[sid]
        status, answer = self.write(key, "DELETE", f"/sessions/{sid}/memory")
        if not key.reaches(session):
            return self.expect(status, 403, answer)
        self.expect(status, 200, answer)
        self.sessions[sid] = SessionModel()

    # -- operations across sessions --------------------------------------

    def in_namespace(self, ns):
        return [sid for sid, s in self.sessions.items() if ns in s.namespaces]

    def forget(self, key, ns):
        status, answer = self.write(key, "DELETE", f"/namespaces/{ns}")
        if not key.allows(ns):
            return self.expect(status, 403, answer)
        self.expect(status, 200, answer)
        listed = self.in_namespace(ns)
        # A retried deletion counts only what its last attempt deleted.
        self.test.assertLessEqual(answer["deleted_sessions"], len(listed),
                                  self.where)
        for sid in listed:
            self.sessions[sid] = SessionModel()

    def search(self, key, ns, word):
        status, answer = self.call(key, "POST", f"/namespaces/{ns}/retrieval",
                                   {"text": word, "top_k": 20})
        if status in (503, 504):
            return
        if not key.allows(ns):
            return self.expect(status, 403, answer)
        self.expect(status, 200, answer)
        for hit in answer:
            sid = hit["session_id"]
            if not sid.startswith(self.prefix):
                continue
            session = self.sessions[sid]
            self.test.assertIn(ns, session.namespaces, (self.where, hit))
            self.test.assertIn(hit["content"], session.archive,
                               (self.where, hit))

    def listing(self, key, ns):
        status, answer = self.call(key, "GET",
                                   f"/sessions?namespace={ns}&size=100")
        if status in (503, 504):
            return
        if not key.allows(ns):
            return self.expect(status, 403, answer)
        self.expect(status, 200, answer)
        mine = sorted(sid for sid in answer if sid.startswith(self.prefix))
        self.test.assertEqual(mine, sorted(self.in_namespace(ns)),
                              self.where)

    def expect(self, status, wanted, answer):
        self.test.assertEqual(status, wanted, (self.where, answer))

    # -- the run ---------------------------------------------------------

    def plan_session_op(self, sid):
        key = self.rng.choice(KEYS)
        roll = self.rng.random()
        if roll < 0.45:
            return self.plan_post(sid)
        if roll < 0.65:
            return (lambda: self.get_memory(key, sid),
                    f"GET memory {sid} by {key.name}")
        if roll < 0.75:
            return (lambda: self.get_info(key, sid),
                    f"GET {sid} by {key.name}")
        if roll < 0.9:
            ns = self.pick_namespace(key)
            patch = {self.rng.choice(["plan", "tier", "lang"]):
                     self.rng.randint(1, 9)}
            return (lambda: self.patch(key, sid, ns, patch),
                    f"PATCH {sid} by {key.name} under {ns} {patch}")
        return (lambda: self.delete(key, sid),
                f"DELETE {sid} by {key.name}")

    def plan_namespace_op(self):
        key = self.rng.choice(KEYS)
        ns = self.rng.choice(NAMESPACES)
        roll = self.rng.random()
        if roll < 0.2:
            return (lambda: self.forget(key, ns),
                    f"DELETE namespace {ns} by {key.name}")
        if roll < 0.6:
            word = self.rng.choice(WORDS)
            return (lambda: self.search(key, ns, word),
                    f"search {ns} for {word} by {key.name}")
        return (lambda: self.listing(key, ns), f"list {ns} by {key.name}")

    def plan_step(self):
        """One operation across sessions, or up to three on distinct
        sessions, to run side by side."""
        if self.rng.random() < 0.15:
            return [self.plan_namespace_op()]
        count = self.rng.randint(1, 3)
        return [self.plan_session_op(sid)
                for sid in self.rng.sample(sorted(self.sessions), count)]

    def run(self, steps, pool):
        for step in range(steps):
            if self.rng.random() < 0.04:
                self.test.stall_redis()
            planned = self.plan_step()
            self.where = (f"seed {SEED}, step {step}: "
                          + "; ".join(what for _, what in planned))
            futures = [pool.submit(op) for op, _ in planned]
            for future in futures:
                future.result()
        self.check_final_state()

    def check_final_state(self):
        admin = KEYS[0]
        self.where = f"seed {SEED}, final state"
        for sid in self.sessions:
            self.get_memory(admin, sid)
            self.get_info(admin, sid)
        for ns in NAMESPACES:
            self.listing(admin, ns)


class InterleavedTenantsTest(TestCase):

    def setUp(self):
        self.redis = RedisServer(durable=False)
        self.redis.start()
        self.server = Motorhead(
            self.redis.url,
            MOTORHEAD_API_KEYS=",".join(
                key.secret if key.scope is None
                else f"{key.secret}:{'|'.join(sorted(key.scope))}"
                for key in KEYS),
            MOTORHEAD_LONG_TERM_MEMORY="true",
            MOTORHEAD_MAX_WINDOW_SIZE=WINDOW,
            MOTORHEAD_MAX_SESSIONS=2,
            MOTORHEAD_REQUEST_TIMEOUT_MS=400)
        self.server.start()

    def tearDown(self):
        self.server.close()
        self.redis.remove()

    def stall_redis(self):
        """Redis answers nobody for a while, from now on (DEBUG SLEEP sent
        on a connection of its own, not waited for)."""
        threading.Thread(target=self.redis.command,
                         args=("DEBUG", "SLEEP", "0.6"), daemon=True).start()

    def test_every_answer_matches_the_model(self):
        run = Run(self, random.Random(SEED))
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            run.run(STEPS, pool)
        # The stalls must not have turned the run into a run of timeouts.
        self.assertGreater(run.definite, 10 * run.unknown,
                           (run.definite, run.unknown))


if __name__ == "__main__":
    unittest.main()
