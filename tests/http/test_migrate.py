"""`motorhead migrate` against a Redis the original Motörhead wrote
(original_layout.py writes it as its code does): sessions, their
namespaces and long-term memory move ahead of time, nothing is lost or
doubled when a migration is cut short and run again or runs while a
server serves, and a dry run writes nothing."""

import os
import re
import signal
import subprocess
import threading
import unittest
import uuid

from harness import MOTORHEAD, Motorhead, RedisServer, TestCase, wait_until
from original_layout import OriginalServer
from test_original_layout import as_messages, chat, new_session

VECTOR = [0.5, 0.5, 0.5, 0.5]


class MigrateTestCase(TestCase):
    def setUp(self):
        self.redis = RedisServer(durable=False)
        self.redis.start()
        self.original = OriginalServer(self.redis)

    def environment(self, **extra):
        env = dict(os.environ, REDIS_URL=self.redis.url,
                   MOTORHEAD_LONG_TERM_MEMORY="true")
        env.update(extra)
        return env

    def migrate(self, *args, **env):
        """Runs `motorhead migrate ARGS`; returns (exit status, summary,
        progress)."""
        done = subprocess.run([MOTORHEAD, "migrate", *args],
                              env=self.environment(**env), capture_output=True,
                              text=True, timeout=300)
        return done.returncode, done.stdout, done.stderr

    def original_keys(self):
        keys = []
        for pattern in ("session:*", "context:*", "tokens:*", "sessions",
                        "sessions:*"):
            keys += self.redis.command("KEYS", pattern)
        # A long-term memory hash: 21 nanoid characters after the prefix
        # (this server's keys of that length have a colon and braces).
        keys += [key for key in self.redis.command("KEYS", "motorhead:*")
                 if re.fullmatch(r"motorhead:[A-Za-z0-9_-]{21}", key)]
        return sorted(keys)

    def start_server(self, **env):
        server = Motorhead(self.redis.url, MOTORHEAD_LONG_TERM_MEMORY="true",
                           **env)
        server.start()
        return server

    def retrieve(self, server, session, text):
        status, hits, _ = server.request(
            "POST", f"/sessions/{session}/retrieval", {"text": text})
        self.assertEqual(status, 200, hits)
        return hits


class MigrateTest(MigrateTestCase):
    def write_conversation(self, session, namespace=None):
        """Eight messages posted, then compacted to the newest five (window
        8, as the original's reducer leaves it); every message indexed in
        long-term memory. Returns (all messages, those of the window)."""
        messages = chat(8)
        self.original.post(session, messages, context="summary so far",
                           namespace=namespace, at=1_700_000_000)
        self.original.compact(session, 8, "summary so far", 40)
        for role, content in messages:
            self.original.index(session, role, content, VECTOR)
        return messages, messages[3:]

    def test_everything_moves_and_is_served(self):
        plain, grouped = new_session(), new_session()
        everything, window = self.write_conversation(plain)
        self.write_conversation(grouped, namespace="team")
        self.original.post(grouped, [("Human", "also here")], namespace="other")

        status, summary, _ = self.migrate()
        self.assertEqual(status, 0, summary)
        self.assertIn("sessions:         2 (11 messages)", summary)
        self.assertIn("long-term memory: 16 messages (10 of the window, 6 older)",
                      summary)
        self.assertEqual(self.original_keys(), [])

        server = self.start_server()
        memory = server.get_memory(plain)
        self.assertEqual(memory["messages"], as_messages(window))
        self.assertEqual(memory["context"], "summary so far")
        self.assertEqual(memory["tokens"], 40)
        info = server.request("GET", f"/sessions/{grouped}")[1]
        self.assertEqual(sorted(info["namespaces"]), ["other", "team"])
        self.assertEqual(server.request("GET", "/sessions?namespace=team")[1],
                         [grouped])
        # The messages older than the window are in long-term memory, each
        # once: BM25 finds them without a provider.
        hits = self.retrieve(server, plain, "about topic1")
        self.assertEqual(hits[0]["content"], everything[1][1])
        contents = [hit["content"] for hit in self.retrieve(server, plain, "turn")]
        self.assertEqual(sorted(contents), sorted(c for _, c in everything))

    def test_vectors_are_kept_for_the_model_that_made_them(self):
        session = new_session()
        self.write_conversation(session)
        status, summary, _ = self.migrate(
            MOTORHEAD_EMBEDDING_MODEL="text-embedding-ada-002")
        self.assertEqual(status, 0, summary)
        self.assertIn("8 vectors kept", summary)
        vectors = self.redis.command(
            "HGETALL", f"motorhead:session:{{{session}}}:vectors")
        self.assertEqual(len(vectors), 16)

    def test_vectors_of_another_model_are_left_out(self):
        session = new_session()
        self.write_conversation(session)
        status, summary, _ = self.migrate()
        self.assertEqual(status, 0, summary)
        self.assertIn("0 vectors kept", summary)
        self.assertEqual(self.redis.command(
            "EXISTS", f"motorhead:session:{{{session}}}:vectors"), 0)

    def test_a_dry_run_writes_nothing(self):
        session = new_session()
        self.write_conversation(session, namespace="team")
        before = self.redis.command("KEYS", "*")
        status, summary, _ = self.migrate("--dry-run")
        self.assertEqual(status, 0, summary)
        self.assertIn("dry run: nothing was written", summary)
        self.assertIn("sessions:         1 (5 messages)", summary)
        self.assertIn("namespace entries: 1", summary)
        self.assertIn("long-term memory: 8 messages", summary)
        self.assertEqual(sorted(self.redis.command("KEYS", "*")), sorted(before))

    def test_without_long_term_memory_its_hashes_stay(self):
        session = new_session()
        self.write_conversation(session)
        status, summary, _ = self.migrate(MOTORHEAD_LONG_TERM_MEMORY="false")
        self.assertEqual(status, 0, summary)
        self.assertIn("8 long-term memory messages, as "
                      "MOTORHEAD_LONG_TERM_MEMORY is off", summary)
        self.assertEqual(len(self.original_keys()), 8)

    def test_stale_index_entries_are_dropped(self):
        ghost = new_session()
        self.redis.command("ZADD", "sessions:team", 1_700_000_000, ghost)
        # Another's session of the id of an entry the original left.
        server = self.start_server()
        self.assertEqual(server.post_memory(
            "alice", [{"role": "Human", "content": "not the original's"}],
            namespace="other")[0], 200)
        self.redis.command("ZADD", "sessions:team", 1_700_000_000, "alice")
        status, summary, _ = self.migrate()
        self.assertEqual(status, 0, summary)
        self.assertIn("2 stale (of no session of the original's any more), dropped",
                      summary)
        self.assertEqual(self.original_keys(), [])
        self.assertEqual(server.request("GET", "/sessions/alice")[1]["namespaces"],
                         ["other"])

    def test_deleted_sessions_do_not_come_back(self):
        session = new_session()
        self.write_conversation(session)
        server = self.start_server()
        self.assertEqual(server.request(
            "DELETE", f"/sessions/{session}/memory")[0], 200)
        self.assertEqual(server.post_memory(
            session, [{"role": "Human", "content": "a new start"}])[0], 200)
        status, summary, _ = self.migrate()
        self.assertEqual(status, 0, summary)
        self.assertIn("8 of deleted sessions, deleted", summary)
        self.assertEqual(self.original_keys(), [])
        self.assertEqual([hit["content"] for hit in
                          self.retrieve(server, session, "turn about")], [])

    def test_a_session_folded_before_is_not_doubled(self):
        session = new_session()
        everything, _ = self.write_conversation(session)
        server = self.start_server(MOTORHEAD_MAX_WINDOW_SIZE=4)
        server.get_memory(session)  # moved: five messages, over the window
        self.assertEqual(server.post_memory(
            session, [{"role": "Human", "content": "one more"}])[0], 200)
        self.assertTrue(wait_until(
            lambda: len(server.get_memory(session)["messages"]) <= 4))
        status, summary, _ = self.migrate()
        self.assertEqual(status, 0, summary)
        self.assertIn("8 messages (5 of the window, 3 older)", summary)
        contents = [hit["content"] for hit in self.retrieve(server, session, "turn")]
        self.assertEqual(sorted(contents), sorted(c for _, c in everything))

    def test_a_server_holding_the_session_keeps_writing(self):
        session = new_session()
        self.write_conversation(session)
        server = self.start_server()
        server.get_memory(session)
        status, summary, _ = self.migrate()
        self.assertEqual(status, 0, summary)
        self.assertEqual(server.post_memory(
            session, [{"role": "Human", "content": "still here"}])[0], 200)
        server.stop()
        server.start()
        contents = [hit["content"] for hit in
                    self.retrieve(server, session, "turn still here")]
        self.assertEqual(len(contents), 9)
        self.assertEqual(len(set(contents)), 9)

    def test_a_session_in_both_layouts_is_reported(self):
        session = new_session()
        self.original.post(session, chat(2))
        server = self.start_server(MOTORHEAD_ORIGINAL_LAYOUT="false")
        self.assertEqual(server.post_memory(
            session, [{"role": "Human", "content": "new"}])[0], 200)
        status, summary, _ = self.migrate()
        self.assertEqual(status, 0, summary)
        self.assertIn("1 sessions also written by a server with "
                      "MOTORHEAD_ORIGINAL_LAYOUT=false: not merged", summary)
        self.assertIn("1 index entries of sessions in both layouts", summary)
        self.assertEqual(self.redis.command("LLEN", f"session:{session}"), 2)

    def test_the_original_activity_times_are_kept(self):
        sessions = [new_session() for _ in range(3)]
        for at, session in zip((1_600_000_000, 1_500_000_000, 1_650_000_000),
                               sessions):
            self.original.post(session, chat(1), namespace="team", at=at)
        status, summary, _ = self.migrate()
        self.assertEqual(status, 0, summary)
        server = self.start_server()
        self.assertEqual(server.request("GET", "/sessions?namespace=team")[1],
                         [sessions[1], sessions[0], sessions[2]])
        info = server.request("GET", f"/sessions/{sessions[1]}")[1]
        self.assertEqual(info["created_at"], "2017-07-14T02:40:00.000Z")

    def test_arguments_are_checked(self):
        status, _, error = self.migrate("--dry")
        self.assertEqual(status, 1)
        self.assertIn('unknown argument "--dry"', error)


class InterruptedMigrateTest(MigrateTestCase):
    SESSIONS = 3000

    def write_many(self):
        sessions = [f"many-{i}" for i in range(self.SESSIONS)]
        # The original's writes, a thousand commands a round trip.
        commands = []
        for i, session in enumerate(sessions):
            commands.append(("ZADD", "sessions:team", 1_700_000_000 + i, session))
            commands.append(("LPUSH", f"session:{session}", f"Human: hello {i}",
                             f"AI: answer {i}"))
        for first in range(0, len(commands), 1000):
            self.redis.pipeline(commands[first:first + 1000])
        return sessions

    def assert_each_moved_once(self, server, sessions):
        for i in range(0, len(sessions), 97):
            self.assertEqual(server.get_memory(sessions[i])["messages"],
                             [{"role": "AI", "content": f"answer {i}"},
                              {"role": "Human", "content": f"hello {i}"}])
        listed = server.request("GET", f"/sessions?namespace=team&size=100&page=1")[1]
        self.assertEqual(len(listed), 100)
        self.assertEqual(self.original_keys(), [])
        self.assertEqual(len(self.redis.command("KEYS", "motorhead:session:*:messages")),
                         len(sessions))

    def test_a_migration_cut_short_and_run_again_moves_everything_once(self):
        sessions = self.write_many()
        process = subprocess.Popen([MOTORHEAD, "migrate"],
                                   env=self.environment(),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        # Progress lines come every tenth of the way: cut it at the first.
        for line in process.stderr:
            if "%" in line:
                break
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        moved = len(self.redis.command("KEYS", "motorhead:session:*:messages"))
        self.assertGreater(moved, 0)
        self.assertLess(moved, len(sessions))

        status, summary, _ = self.migrate()
        self.assertEqual(status, 0, summary)
        self.assertIn(f"sessions:         {len(sessions) - moved} "
                      f"({2 * (len(sessions) - moved)} messages)", summary)
        self.assertIn(f"namespace entries: {len(sessions) - moved}", summary)
        server = self.start_server()
        self.assert_each_moved_once(server, sessions)

    def test_a_migration_while_a_server_serves_loses_nothing(self):
        sessions = self.write_many()
        server = self.start_server(MOTORHEAD_API_KEYS=f"k-{uuid.uuid4().hex}:team")
        key = server.env["MOTORHEAD_API_KEYS"].split(":")[0]
        auth = {"Authorization": f"Bearer {key}"}
        posted = sessions[::50]
        answers = []

        def post_each():
            for session in posted:
                answers.append(server.request(
                    "POST", f"/sessions/{session}/memory?namespace=team",
                    {"messages": [{"role": "Human", "content": "later",
                                   "id": f"later-{session}"}]},
                    headers=auth)[0])

        writer = threading.Thread(target=post_each)
        writer.start()
        status, summary, _ = self.migrate()
        writer.join()
        self.assertEqual(status, 0, summary)
        # A POST to a session the migration fenced meanwhile may be asked
        # to retry; its retry stores it once.
        for session, answer in zip(posted, answers):
            if answer != 200:
                self.assertEqual(server.request(
                    "POST", f"/sessions/{session}/memory?namespace=team",
                    {"messages": [{"role": "Human", "content": "later",
                                   "id": f"later-{session}"}]},
                    headers=auth)[0], 200)
        for session in posted:
            i = sessions.index(session)
            status, body, _ = server.request(
                "GET", f"/sessions/{session}/memory", headers=auth)
            self.assertEqual(status, 200, body)
            self.assertEqual([m["content"] for m in body["messages"]],
                             ["later", f"answer {i}", f"hello {i}"])
        self.assertEqual(self.original_keys(), [])


if __name__ == "__main__":
    unittest.main()
