"""A Redis the original Motörhead wrote (original_layout.py writes it as its
code does): every session is served as it was, moved into this server's
layout when it is first loaded, listed, and deleted with the original's
keys; MOTORHEAD_ORIGINAL_LAYOUT=false leaves the original's keys alone."""

import threading
import time
import unittest
import uuid

from harness import Motorhead, RedisServer, TestCase
from original_layout import OriginalServer


def new_session():
    return "orig-" + uuid.uuid4().hex[:12]


def chat(n, start=0):
    """n (role, content) pairs, oldest first."""
    return [("Human" if i % 2 == 0 else "AI", f"turn {i}: about topic{i}")
            for i in range(start, start + n)]


def as_messages(pairs):
    """What a GET answers for `pairs` (oldest first): newest first."""
    return [{"role": role, "content": content} for role, content in reversed(pairs)]


class OriginalLayoutTest(TestCase):
    server_env = {"MOTORHEAD_MAX_WINDOW_SIZE": 12}

    def setUp(self):
        self.redis = RedisServer(durable=False)
        self.redis.start()
        self.original = OriginalServer(self.redis)
        self.server = Motorhead(self.redis.url, **self.server_env)

    def meta_key(self, session):
        return f"motorhead:session:{{{session}}}:meta"

    def original_keys(self, session):
        return [key for key in (f"session:{session}", f"context:{session}",
                                f"tokens:{session}")
                if self.redis.command("EXISTS", key)]

    def test_a_session_the_original_wrote_is_served_as_it_was(self):
        session = new_session()
        self.original.post(session, chat(4))
        self.original.post(session, chat(3, start=4), context="what came before")
        self.original.compact(session, 12, "what came before", 0)
        self.redis.command("INCRBY", f"tokens:{session}", 321)
        self.server.start()
        memory = self.server.get_memory(session)
        self.assertEqual(memory["messages"], as_messages(chat(7)))
        self.assertEqual(memory["context"], "what came before")
        self.assertEqual(memory["tokens"], 321)

    def test_content_keeps_every_colon_after_the_first(self):
        session = new_session()
        self.original.post(session, [("Human", "time: 10:30: sharp"),
                                     ("AI", "")])
        self.server.start()
        self.assertEqual(self.server.get_memory(session)["messages"],
                         [{"role": "AI", "content": ""},
                          {"role": "Human", "content": "time: 10:30: sharp"}])

    def test_a_post_continues_the_original_conversation(self):
        session = new_session()
        self.original.post(session, chat(4), context="earlier")
        self.server.start()
        status, body, _ = self.server.post_memory(
            session, [{"role": "Human", "content": "and now?"}])
        self.assertEqual(status, 200, body)
        memory = self.server.get_memory(session)
        self.assertEqual(memory["messages"],
                         [{"role": "Human", "content": "and now?"}]
                         + as_messages(chat(4)))
        self.assertEqual(memory["context"], "earlier")
        # Moved: the original's keys are gone, and a restart reads the
        # messages from this server's layout.
        self.assertEqual(self.original_keys(session), [])
        self.server.stop()
        self.server.start()
        self.assertEqual(self.server.get_memory(session)["messages"][1:],
                         as_messages(chat(4)))

    def test_listings_include_the_original_sessions(self):
        plain, grouped = new_session(), new_session()
        self.original.post(plain, chat(1), at=1_700_000_000)
        self.original.post(grouped, chat(1), namespace="team", at=1_700_000_001)
        self.server.start()
        mine = new_session()
        self.assertEqual(self.server.post_memory(
            mine, [{"role": "Human", "content": "new"}])[0], 200)
        listed = self.server.request("GET", "/sessions?size=100")[1]
        self.assertIn(plain, listed)
        self.assertIn(mine, listed)
        # Oldest activity first, the original's included.
        self.assertLess(listed.index(plain), listed.index(mine))
        self.assertEqual(
            self.server.request("GET", "/sessions?namespace=team")[1], [grouped])

    def test_a_delete_removes_the_original_keys(self):
        session = new_session()
        self.original.post(session, chat(2), context="c", namespace="team")
        self.server.start()
        status, body, _ = self.server.request(
            "DELETE", f"/sessions/{session}/memory?namespace=team")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.original_keys(session), [])
        self.assertEqual(self.redis.command("ZSCORE", "sessions:team", session),
                         None)
        self.assertEqual(self.server.get_memory(session)["messages"], [])

    def test_a_session_moved_over_a_deleted_one_is_kept(self):
        """A deletion leaves the session's record to expire in a day; the
        original writing the same id after it, the record of the session
        moved in is kept for good, whether it is only read or written
        (the original ran beside this server for a while, or came back)."""
        self.server.start()
        for then_post in (False, True):
            with self.subTest(then_post=then_post):
                session = new_session()
                self.server.post_memory(session, [{"role": "Human", "content": "x"}])
                self.assertEqual(self.server.request(
                    "DELETE", f"/sessions/{session}/memory")[0], 200)
                self.assertGreater(self.redis.command("TTL", self.meta_key(session)), 0)
                self.original.post(session, chat(2), context="earlier")
                self.server.stop()  # a server that never saw the session
                self.server.start()
                self.assertEqual(self.server.get_memory(session)["messages"],
                                 as_messages(chat(2)))
                if then_post:
                    self.assertEqual(self.server.post_memory(
                        session, [{"role": "Human", "content": "y"}])[0], 200)
                self.assertEqual(self.redis.command("TTL", self.meta_key(session)), -1)

    def test_a_record_left_to_expire_is_kept_by_its_next_post_or_load(self):
        """What an earlier version's move left (a record with data and the
        expiry of the deletion it moved over) is kept for good by the next
        POST to the live session, or by the session's next load."""
        self.server.start()
        for heal in ("post", "load"):
            with self.subTest(heal=heal):
                session = new_session()
                meta = self.meta_key(session)
                self.server.post_memory(session, [{"role": "Human", "content": "x"}])
                self.redis.command("EXPIRE", meta, 86400)
                if heal == "post":
                    self.assertEqual(self.server.post_memory(
                        session, [{"role": "AI", "content": "y"}])[0], 200)
                else:
                    self.server.stop()
                    self.server.start()
                    self.assertEqual(len(self.server.get_memory(session)["messages"]), 1)
                self.assertEqual(self.redis.command("TTL", meta), -1)

    def test_moved_messages_have_ids_times_and_token_counts(self):
        session = new_session()
        self.original.post(session, chat(2), at=1_700_000_000)
        self.server.start()
        messages = self.server.get_memory(session, details=True)["messages"]
        self.assertEqual([m["id"] for m in messages],
                         ["original-2", "original-1"])
        self.assertEqual({m["created_at"] for m in messages},
                         {"2023-11-14T22:13:20.000Z"})
        self.assertTrue(all(m["token_count"] > 0 for m in messages), messages)

    def test_a_namespace_deletion_takes_the_original_sessions(self):
        gone, kept = new_session(), new_session()
        self.original.post(gone, chat(2), namespace="team")
        self.original.post(kept, chat(2), namespace="other")
        self.server.start()
        status, body, _ = self.server.request("DELETE", "/namespaces/team")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.original_keys(gone), [])
        self.assertEqual(self.server.get_memory(gone)["messages"], [])
        self.assertEqual(self.server.get_memory(kept)["messages"],
                         as_messages(chat(2)))

    def test_keys_of_other_programs_are_left_alone(self):
        """Names the original used, held by another program: not moved,
        not deleted, and no request fails on them."""
        self.redis.command("SET", "context:bob", "another program's")
        self.redis.command("SET", "session:web1", "{}")
        self.redis.command("HSET", "tokens:carol", "a", "b")
        self.redis.command("LPUSH", "session:carol", "Human: hi")
        self.redis.command("HSET", "sessions", "not", "a sorted set")
        self.server.start()
        memory = self.server.get_memory("bob")
        self.assertEqual((memory["messages"], memory["context"]), ([], None))
        self.assertEqual(self.redis.command("GET", "context:bob"),
                         "another program's")
        self.assertEqual(self.server.post_memory(
            "web1", [{"role": "Human", "content": "mine"}])[0], 200)
        self.assertEqual(self.redis.command("GET", "session:web1"), "{}")
        carol = self.server.get_memory("carol")
        self.assertEqual((carol["messages"], carol["tokens"]),
                         ([{"role": "Human", "content": "hi"}], 0))
        self.assertEqual(self.redis.command("HGET", "tokens:carol", "a"), "b")
        status, listed, _ = self.server.request("GET", "/sessions")
        self.assertEqual(status, 200, listed)
        self.assertEqual(sorted(listed), ["carol", "web1"])
        self.assertEqual(self.server.request(
            "DELETE", "/sessions/web1/memory")[0], 200)

    def test_pages_list_each_session_once(self):
        early, late = new_session(), new_session()
        self.original.post(early, chat(1), namespace="team", at=1_700_000_000)
        self.original.post(late, chat(1), namespace="team", at=1_700_000_001)
        self.redis.command("ZADD", "sessions:team", 1_700_000_002, "bad id/é")
        self.server.start()
        mine = [new_session(), new_session()]
        for session in mine + [early]:
            time.sleep(0.005)  # distinct millisecond scores
            self.assertEqual(self.server.post_memory(
                session, [{"role": "Human", "content": "x"}],
                namespace="team")[0], 200)
        pages = [self.server.request(
            "GET", f"/sessions?namespace=team&size=2&page={page}")[1]
            for page in (1, 2, 3)]
        self.assertEqual(pages, [[late] + mine[:1], mine[1:] + [early], []])

    def test_a_cursor_walks_both_layouts_through_ties(self):
        # Three of the original's sessions in one second, a refused id.
        originals = [f"o{i}-{uuid.uuid4().hex[:6]}" for i in range(4)]
        originals.sort()
        for i, session in enumerate(originals):
            self.original.post(session, chat(1), namespace="team",
                               at=1_700_000_000 + (i == 3))
        self.redis.command("ZADD", "sessions:team", 1_700_000_000, "bad id/é")
        self.server.start()
        mine = [new_session(), new_session(), new_session()]
        for session in mine:
            time.sleep(0.005)  # distinct millisecond scores
            self.assertEqual(self.server.post_memory(
                session, [{"role": "Human", "content": "x"}],
                namespace="team")[0], 200)
        listed, _ = self.server.list_by_cursor("namespace=team", size=2)
        self.assertEqual(listed, originals + mine)

    def test_scores_in_fractions_of_a_ms_are_listed_once(self):
        # Another program's scores: a and b in one ms, b's fraction first;
        # one below zero; one no clock gives, which no listing shows.
        for score, session in ((1_800_000_000.1231, "frac-b"),
                               (1_800_000_000.1234, "frac-a"),
                               (-0.0625, "frac-neg"), ("inf", "frac-inf")):
            self.redis.command("ZADD", "sessions:frac", score, session)
            self.redis.command("LPUSH", f"session:{session}", "user: hi")
        self.server.start()
        expected = ["frac-neg", "frac-a", "frac-b"]
        for size in (1, 2, 3):
            listed, pages = self.server.list_by_cursor("namespace=frac",
                                                       size=size)
            self.assertEqual(listed, expected, size)
            self.assertLessEqual(pages, len(expected) // size + 1)
        pages = [self.server.request(
            "GET", f"/sessions?namespace=frac&size=1&page={page}")[1]
            for page in (1, 2, 3, 4)]
        self.assertEqual(pages, [[s] for s in expected] + [[]])

    def test_refused_ids_leave_no_gap_in_the_pages(self):
        for i, bad in enumerate(("a b", "c+d", "e=f")):
            self.redis.command("ZADD", "sessions:team", 1_600_000_000 + i, bad)
        sessions = [f"v{i}" for i in range(5)]
        for i, session in enumerate(sessions):
            self.original.post(session, chat(1), namespace="team",
                               at=1_700_000_000 + i)
        self.server.start()
        pages = [self.server.request(
            "GET", f"/sessions?namespace=team&size=2&page={page}")[1]
            for page in (1, 2, 3, 4)]
        self.assertEqual(pages, [sessions[:2], sessions[2:4], sessions[4:], []])

    def test_a_listing_leaves_the_original_s_entries_alone(self):
        """The original lists a session before it pushes its first
        messages, and may use ids this server refuses: a listing between
        the two, or over such ids, changes nothing."""
        self.redis.command("ZADD", "sessions:team", 1_700_000_000, "X")
        self.redis.command("ZADD", "sessions:team", 1_600_000_000, "")
        self.redis.command("LPUSH", "session:", "Human: empty id")
        self.server.start()
        self.assertEqual(self.server.request(
            "GET", "/sessions?namespace=team")[1], [])
        self.redis.command("LPUSH", "session:X", "Human: hi")
        self.assertEqual(self.server.request(
            "GET", "/sessions?namespace=team")[1], ["X"])
        self.assertEqual(self.redis.command("ZRANGE", "sessions:team", 0, -1),
                         ["", "X"])
        self.assertEqual(self.server.request("DELETE", "/namespaces/team")[1]
                         ["deleted_sessions"], 1)
        self.assertEqual(self.redis.command("LLEN", "session:"), 1)

    def test_two_servers_loading_it_at_once_store_each_message_once(self):
        session = new_session()
        self.original.post(session, chat(6))
        self.server.start()
        other = Motorhead(self.redis.url, **self.server_env)
        other.start()
        answers = []
        threads = [threading.Thread(target=lambda s=s, i=i: answers.append(
            s.post_memory(session, [{"role": "Human", "content": f"racer {i}"}])[0]))
            for i, s in enumerate((self.server, other, self.server, other))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(answers, [200] * 4)
        contents = [m["content"] for m in self.server.get_memory(session)["messages"]]
        self.assertEqual(sorted(contents),
                         sorted([c for _, c in chat(6)]
                                + [f"racer {i}" for i in range(4)]))


class OriginalLayoutWithScopedKeysTest(TestCase):
    """The original kept no list of a session's namespaces: a session
    moves into those of its namespaces that keys are scoped to, so that
    those keys reach it, and no other key does."""

    def test_a_scoped_key_reaches_the_sessions_of_its_namespace(self):
        redis = RedisServer(durable=False)
        redis.start()
        team_key, other_key = "team-" + uuid.uuid4().hex, "other-" + uuid.uuid4().hex
        session = new_session()
        OriginalServer(redis).post(session, chat(2), namespace="team")
        server = Motorhead(redis.url,
                           MOTORHEAD_API_KEYS=f"{team_key}:team,{other_key}:other")
        server.start()

        def get(key):
            return server.request("GET", f"/sessions/{session}/memory",
                                  headers={"Authorization": f"Bearer {key}"})[:2]

        self.assertEqual(get(other_key)[0], 403)
        status, body = get(team_key)
        self.assertEqual(status, 200, body)
        self.assertEqual([{"role": m["role"], "content": m["content"]}
                          for m in body["messages"]], as_messages(chat(2)))
        self.assertEqual(get(other_key)[0], 403)
        status, info, _ = server.request(
            "GET", f"/sessions/{session}",
            headers={"Authorization": f"Bearer {team_key}"})
        self.assertEqual(info["namespaces"], ["team"])
        self.assertEqual(redis.command("ZRANGE", "sessions:team", 0, -1), [])


class StaleOriginalEntryTest(TestCase):
    """The original's DELETE without a namespace left its session in
    `sessions:team`; another tenant then made a session of that id. The
    stale entry gives the team's key nothing."""

    def test_a_stale_entry_reaches_no_other_session(self):
        redis = RedisServer(durable=False)
        redis.start()
        team, other = "team-" + uuid.uuid4().hex, "other-" + uuid.uuid4().hex
        redis.command("ZADD", "sessions:team", 1_700_000_000, "alice")
        server = Motorhead(redis.url,
                           MOTORHEAD_API_KEYS=f"{team}:team,{other}:other")
        server.start()

        def call(key, method, path, body=None):
            return server.request(method, path, body,
                                  headers={"Authorization": f"Bearer {key}"})[:2]

        self.assertEqual(call(other, "POST", "/sessions/alice/memory?namespace=other",
                              {"messages": [{"role": "Human",
                                             "content": "other's secret"}]})[0], 200)
        self.assertEqual(call(team, "GET", "/sessions/alice/memory")[0], 403)
        self.assertEqual(call(team, "GET", "/sessions?namespace=team")[1], [])
        self.assertEqual(call(team, "DELETE", "/namespaces/team")[1]
                         ["deleted_sessions"], 0)
        status, body = call(other, "GET", "/sessions/alice/memory")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["messages"][0]["content"], "other's secret")


class BothLayoutsTest(TestCase):
    """A session the original wrote under one namespace, and this server
    (with the original's layout off) under another: the original's entry
    does not make this server's session the first namespace's."""

    def test_the_original_entry_takes_nothing_of_this_server_s_session(self):
        redis = RedisServer(durable=False)
        redis.start()
        OriginalServer(redis).post("X", chat(1), namespace="team")
        off = Motorhead(redis.url, MOTORHEAD_ORIGINAL_LAYOUT="false")
        off.start()
        self.assertEqual(off.post_memory(
            "X", [{"role": "Human", "content": "other's"}],
            namespace="other")[0], 200)
        off.stop()
        server = Motorhead(redis.url)
        server.start()
        self.assertEqual(server.request("GET", "/sessions?namespace=team")[1], [])
        self.assertEqual(server.request("DELETE", "/namespaces/team")[1]
                         ["deleted_sessions"], 0)
        self.assertEqual(server.request("GET", "/sessions?namespace=other")[1],
                         ["X"])
        self.assertEqual(server.get_memory("X")["messages"][0]["content"],
                         "other's")


class OriginalLayoutOffTest(TestCase):
    def test_the_original_keys_are_left_alone(self):
        redis = RedisServer(durable=False)
        redis.start()
        session = new_session()
        OriginalServer(redis).post(session, chat(2))
        server = Motorhead(redis.url, MOTORHEAD_ORIGINAL_LAYOUT="false")
        server.start()
        self.assertEqual(server.get_memory(session)["messages"], [])
        self.assertNotIn(session, server.request("GET", "/sessions")[1])
        self.assertEqual(redis.command("LLEN", f"session:{session}"), 2)


if __name__ == "__main__":
    unittest.main()
