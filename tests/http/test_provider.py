"""Black-box tests of summarization through an OpenAI-compatible provider:
redis-server, build/motorhead and the fake provider on loopback ports held
for them."""

import concurrent.futures
import json
import os
import subprocess
import tempfile
import time
import unittest
import uuid

import prometheus
from harness import (FakeOpenAI, MOTORHEAD, Motorhead, RedisServer, TestCase,
                     turn, wait_until)

WINDOW = 4


def new_session():
    return "p-" + uuid.uuid4().hex


class ProviderTestCase(TestCase):
    """A Redis, a fake provider and a server wired to it, per test."""

    def server_env(self):
        return {"OPENAI_API_KEY": "sk-test",
                "OPENAI_API_BASE": self.fake.base_url + "/v1"}

    def setUp(self):
        self.redis = RedisServer()
        self.redis.start()
        self.fake = FakeOpenAI()
        env = {"MOTORHEAD_MAX_WINDOW_SIZE": WINDOW,
               "MOTORHEAD_MODEL": "gpt-test-model",
               "MOTORHEAD_TOKENIZER": "cl100k_base",
               "MOTORHEAD_PROVIDER_RETRY_BASE_MS": 50}
        env.update(self.server_env())
        self.server = Motorhead(self.redis.url, **env)
        self.server.start()

    def tearDown(self):
        self.server.close()
        self.fake.stop()
        self.redis.remove()

    def overflow(self, session, count=WINDOW + 2, first=0):
        """One POST that takes the session over its window: one fold."""
        status, body, _ = self.server.post_memory(
            session, [turn(i) for i in range(first, first + count)])
        self.assertEqual(status, 200, body)

    def wait_for_context(self, session, timeout=15):
        self.assertTrue(wait_until(
            lambda: self.server.get_memory(session)["context"] is not None,
            timeout=timeout), self.server.output())
        return self.server.get_memory(session)

    def chat_requests(self):
        return [r for r in self.fake.requests() if r["body"] is not None]

    def provider_calls(self, metrics, result):
        return prometheus.value(metrics, "motorhead_provider_calls_total",
                                purpose="summary", result=result)


class OpenAiRequestTest(ProviderTestCase):

    def test_the_request_is_what_openai_expects(self):
        session = new_session()
        self.overflow(session)
        memory = self.wait_for_context(session)
        request = self.chat_requests()[0]
        self.assertEqual(request["path"], "/v1/chat/completions")
        self.assertEqual(request["headers"]["authorization"], "Bearer sk-test")
        self.assertEqual(request["headers"]["content-type"], "application/json")
        self.assertEqual(request["body"]["model"], "gpt-test-model")
        self.assertEqual(request["body"]["messages"][0]["role"], "user")
        prompt = request["body"]["messages"][0]["content"]
        self.assertIn("Progressively summarize the lines of conversation", prompt)
        self.assertIn("Human: " + turn(0)["content"], prompt)
        self.assertIn("AI: " + turn(1)["content"], prompt)
        # The summary lands in context, the tokens add up.
        self.assertEqual(memory["context"], request["answer"]["content"])
        self.assertEqual(memory["tokens"], request["answer"]["usage"]["total_tokens"])
        self.assertEqual(len(memory["messages"]), WINDOW // 2)

    def test_summaries_are_progressive_and_tokens_accumulate(self):
        session = new_session()
        self.overflow(session)
        first = self.wait_for_context(session)["context"]
        self.overflow(session, first=WINDOW + 2)
        self.assertTrue(wait_until(
            lambda: len(self.chat_requests()) >= 2 and
            self.server.get_memory(session)["context"] != first))
        requests = self.chat_requests()
        self.assertIn(first, requests[1]["body"]["messages"][0]["content"])
        memory = self.server.get_memory(session)
        tokens = sum(r["answer"]["usage"]["total_tokens"] for r in requests)
        self.assertEqual(memory["tokens"], tokens)
        metrics = self.server.metrics()
        self.assertEqual(self.provider_calls(metrics, "ok"), len(requests))
        self.assertEqual(
            prometheus.value(metrics, "motorhead_provider_tokens_total"), tokens)
        self.assertEqual(
            prometheus.value(metrics, "motorhead_folds_done_total"), 2)
        self.assertEqual(prometheus.value(
            metrics, "motorhead_provider_call_duration_seconds_count",
            purpose="summary"), len(requests))

    def test_none_keeps_the_previous_summary(self):
        session = new_session()
        self.server.post_memory(session, [], context="kept summary")
        self.server.post_memory(session, [{"role": "Human", "content": f"MEANINGLESS {i}"}
                                          for i in range(WINDOW + 2)])
        self.assertTrue(wait_until(lambda: len(self.chat_requests()) == 1 and
                                   len(self.server.get_memory(session)["messages"])
                                   == WINDOW // 2))
        self.assertEqual(self.server.get_memory(session)["context"], "kept summary")

    def test_none_without_a_summary_keeps_the_context_null(self):
        session = new_session()
        self.server.post_memory(session, [{"role": "Human", "content": f"MEANINGLESS {i}"}
                                          for i in range(WINDOW + 2)])
        self.assertTrue(wait_until(lambda: len(self.chat_requests()) == 1 and
                                   len(self.server.get_memory(session)["messages"])
                                   == WINDOW // 2))
        self.assertIsNone(self.server.get_memory(session)["context"])
        self.server.stop()
        self.server.start()
        self.assertIsNone(self.server.get_memory(session)["context"])


class CompatibleWithoutKeyTest(ProviderTestCase):

    def server_env(self):
        return {"OPENAI_API_BASE": self.fake.base_url + "/v1/"}

    def test_no_authorization_header_without_a_key(self):
        session = new_session()
        self.overflow(session)
        self.wait_for_context(session)
        request = self.chat_requests()[0]
        self.assertEqual(request["path"], "/v1/chat/completions")
        self.assertNotIn("authorization", request["headers"])


class AzureTest(ProviderTestCase):

    def server_env(self):
        return {"AZURE_API_KEY": "azure-key", "AZURE_API_BASE": self.fake.base_url,
                "AZURE_DEPLOYMENT_ID": "chat-dep", "AZURE_DEPLOYMENT_ID_ADA": "ada-dep",
                "AZURE_API_VERSION": "2024-02-01"}

    def test_azure_url_and_header(self):
        session = new_session()
        self.overflow(session)
        self.wait_for_context(session)
        request = self.chat_requests()[0]
        self.assertEqual(request["path"],
                         "/openai/deployments/chat-dep/chat/completions")
        self.assertEqual(request["query"], {"api-version": ["2024-02-01"]})
        self.assertEqual(request["headers"]["api-key"], "azure-key")
        self.assertNotIn("authorization", request["headers"])


class FailureTest(ProviderTestCase):

    def test_429_is_retried_after_retry_after(self):
        self.fake.control(script=[{"status": 429, "retry_after": "1"}])
        session = new_session()
        self.overflow(session)
        self.wait_for_context(session)
        first, second = self.chat_requests()[:2]
        self.assertEqual(first["answer"], 429)
        self.assertGreaterEqual(second["time"] - first["time"], 0.95)
        self.assertIn("429", self.server.output())
        self.assertIn(session, self.server.output())
        self.assertEqual(
            self.provider_calls(self.server.metrics(), "rate_limited"), 1)

    def test_500_and_malformed_answers_are_retried(self):
        self.fake.control(script=[{"status": 500}, {"malformed": True}])
        session = new_session()
        self.overflow(session)
        memory = self.wait_for_context(session)
        answers = [r["answer"] for r in self.chat_requests()]
        self.assertEqual(answers[:2], [500, "malformed"])
        self.assertEqual(memory["context"], answers[2]["content"])

    def test_a_4xx_is_not_retried_and_nothing_is_lost(self):
        self.fake.control(script=[{"status": 400}])
        session = new_session()
        self.overflow(session)
        # The provider call gives up at once; the session keeps its messages
        # and asks again a second later.
        self.assertTrue(wait_until(lambda: len(self.chat_requests()) >= 1))
        time.sleep(0.5)
        self.assertEqual(len(self.chat_requests()), 1)
        stored = self.redis.command(
            "LLEN", f"motorhead:session:{{{session}}}:messages")
        self.assertEqual(stored, WINDOW + 2)
        self.assertEqual(len(self.server.get_memory(session)["messages"]), WINDOW)
        self.wait_for_context(session)
        self.assertIn("scripted failure 400", self.server.output())
        metrics = self.server.metrics()
        self.assertEqual(self.provider_calls(metrics, "client_error"), 1)
        self.assertEqual(
            prometheus.value(metrics, "motorhead_folds_failed_total"), 1)


class HungProviderTest(ProviderTestCase):

    def server_env(self):
        env = super().server_env()
        env["MOTORHEAD_PROVIDER_TIMEOUT_MS"] = 500
        return env

    def test_a_hung_provider_times_out_and_is_retried(self):
        self.fake.control(script=[{"hang": True}])
        session = new_session()
        started = time.time()
        self.overflow(session)
        memory = self.wait_for_context(session)
        self.assertGreaterEqual(time.time() - started, 0.5)
        self.assertEqual(len(self.chat_requests()), 2)
        self.assertIsNotNone(memory["context"])


class ConcurrencyTest(ProviderTestCase):

    def server_env(self):
        env = super().server_env()
        env["MOTORHEAD_SUMMARIZER_CONCURRENCY"] = 3
        return env

    def test_calls_in_flight_never_exceed_the_concurrency(self):
        self.fake.control(latency_ms=300)
        sessions = [new_session() for _ in range(12)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            list(pool.map(self.overflow, sessions))
        for session in sessions:
            self.wait_for_context(session, timeout=30)
        stats = self.fake.stats()
        self.assertEqual(stats["max_in_flight"], 3)

    def test_no_message_is_lost_while_posts_race_slow_failing_folds(self):
        self.fake.control(latency_ms=100, fail_every=2)
        session = new_session()

        def post(i):
            time.sleep(0.01 * (i % 12))  # spread the posts over the folds
            return self.server.post_memory(session, [turn(i)])[0]

        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(post, range(60)))
        self.assertEqual(statuses, [200] * 60)
        list_key = f"motorhead:session:{{{session}}}:messages"
        self.assertTrue(wait_until(
            lambda: self.redis.command("LLEN", list_key) <= WINDOW, timeout=30))
        remaining = [json.loads(m) for m in self.redis.command("LRANGE", list_key, 0, -1)]
        # Folds removed exactly the oldest messages: the rest end at seq 60.
        self.assertEqual([m["seq"] for m in remaining],
                         list(range(61 - len(remaining), 61)))
        # Every message is either still there or went into exactly one
        # successful provider call.
        numbers = [int(m["content"].split()[2]) for m in remaining]
        for request in self.chat_requests():
            if isinstance(request["answer"], dict):
                prompt = request["body"]["messages"][0]["content"]
                lines = prompt[prompt.rfind("New lines of conversation:\n"):]
                numbers += [i for i in range(60) if f"message number {i} about" in lines]
        self.assertEqual(sorted(numbers), list(range(60)))
        self.assertIn(500, [r["answer"] for r in self.chat_requests()])


class TokenBudgetTest(ProviderTestCase):

    def server_env(self):
        env = super().server_env()
        env["MOTORHEAD_MODEL_CONTEXT_TOKENS"] = 700
        env["MOTORHEAD_SUMMARY_MAX_TOKENS"] = 100
        return env

    def test_a_fold_too_big_for_the_context_is_split(self):
        session = new_session()
        self.server.post_memory(session, [
            {"role": "Human", "content": f"story {i}: " + "word " * 150}
            for i in range(WINDOW + 2)])
        self.wait_for_context(session)
        self.assertTrue(wait_until(
            lambda: len(self.server.get_memory(session)["messages"]) == WINDOW // 2))
        requests = self.chat_requests()
        self.assertGreater(len(requests), 1)
        # Each call carries the summary so far: the second starts from the first.
        self.assertIn(requests[0]["answer"]["content"][:40],
                      requests[1]["body"]["messages"][0]["content"])
        memory = self.server.get_memory(session)
        self.assertEqual(memory["tokens"], sum(
            r["answer"]["usage"]["total_tokens"] for r in requests))


class RateLimitTest(ProviderTestCase):

    def server_env(self):
        env = super().server_env()
        env["MOTORHEAD_PROVIDER_RPM"] = 2
        return env

    def test_requests_per_minute_are_respected(self):
        sessions = [new_session() for _ in range(4)]
        for session in sessions:
            self.overflow(session)
        time.sleep(3)
        # A full bucket of 2 at start, then one more every 30 s.
        self.assertEqual(len(self.chat_requests()), 2)


class PromptFileTest(ProviderTestCase):

    def server_env(self):
        env = super().server_env()
        self.prompt_file = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
        self.prompt_file.write("Summary so far: {summary}\nAdd these: {new_lines}\nDone.")
        self.prompt_file.close()
        env["MOTORHEAD_SUMMARY_PROMPT_FILE"] = self.prompt_file.name
        return env

    def tearDown(self):
        super().tearDown()
        os.unlink(self.prompt_file.name)

    def test_the_prompt_comes_from_the_file(self):
        session = new_session()
        self.overflow(session)
        self.wait_for_context(session)
        prompt = self.chat_requests()[0]["body"]["messages"][0]["content"]
        self.assertTrue(prompt.startswith("Summary so far: \nAdd these: Human: "), prompt)
        self.assertTrue(prompt.endswith("\nDone."), prompt)


class StartupTest(TestCase):

    def run_server(self, **env):
        full = dict(os.environ)
        full.update({"PORT": "1", "OPENAI_API_KEY": "sk"})
        full.update(env)
        return subprocess.run([MOTORHEAD], env=full, capture_output=True,
                              text=True, timeout=20)

    def test_a_prompt_file_without_placeholders_is_refused(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as prompt:
            prompt.write("no placeholders here")
            prompt.flush()
            result = self.run_server(MOTORHEAD_SUMMARY_PROMPT_FILE=prompt.name)
        self.assertEqual(result.returncode, 1)
        self.assertIn("{summary}", result.stderr)

    def test_missing_tokenizer_files_are_reported(self):
        result = self.run_server(MOTORHEAD_TOKENIZER_DIR="/nonexistent")
        self.assertEqual(result.returncode, 1)
        self.assertIn("fetch-tokenizers", result.stderr)


if __name__ == "__main__":
    unittest.main()
