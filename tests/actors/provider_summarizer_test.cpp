#define CAF_SUITE provider_summarizer
#include "actor_fixture.hpp"

#include "actors/provider_summarizer.hpp"
#include "core/json_codec.hpp"

using namespace motorhead;
using namespace motorhead::testing;

namespace {

/// Records calls; the test answers them.
struct fake_transport : provider_transport {
  struct pending {
    http_call call;
    completion done;
  };
  std::vector<pending> calls;

  void submit(http_call call, completion done) override {
    calls.push_back({std::move(call), std::move(done)});
  }
};

http_result chat_answer(const std::string& content, uint64_t tokens) {
  return {200,
          R"({"choices":[{"message":{"role":"assistant","content":")" + content
            + R"("}}],"usage":{"total_tokens":)" + std::to_string(tokens) + "}}",
          {},
          {}};
}

http_result failure(long status, std::string retry_after = {}) {
  return {status, R"({"error":{"message":"scripted"}})", std::move(retry_after),
          {}};
}

struct provider_fixture : actor_fixture {
  provider_fixture() {
    auto tokenizer = bpe_tokenizer::load_file(
      std::string{MOTORHEAD_TEST_TOKENIZER_DIR} + "/cl100k_base.json");
    CAF_REQUIRE(tokenizer);
    auto ctx = std::make_shared<provider_context>();
    ctx->endpoint = {"fake", "http://fake/v1/chat/completions",
                     {"Content-Type: application/json"}, "gpt-test"};
    ctx->calls.transport = transport;
    ctx->tokenizer = std::make_shared<bpe_tokenizer>(std::move(*tokenizer.value));
    ctx->prompt = std::make_shared<summary_prompt>(summary_prompt::standard());
    ctx->limiter = std::make_shared<rate_limiter>(0, 0);
    ctx->calls.backoff.base = std::chrono::milliseconds{100};
    ctx->calls.backoff.max_attempts = 3;
    ctx->calls.jitter = [] { return 0.0; };
    context = ctx;
    worker = spawn_worker(*context);
  }

  ~provider_fixture() override {
    caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// Replaces the worker by one with a changed context.
  provider_worker_actor spawn_worker(provider_context ctx) {
    if (worker)
      caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
    worker = sys.spawn(provider_summarizer,
                       std::make_shared<const provider_context>(std::move(ctx)));
    sched.run();
    return worker;
  }

  /// Starts a fold; its answer arrives at `self` later.
  auto start_fold(std::vector<stored_message> lines,
                  std::optional<std::string> previous = {},
                  uint64_t time_limit_ms = 0) {
    auto handle = self->request(caf::actor_cast<caf::actor>(worker),
                                caf::infinite, summarize_atom::value,
                                fold_job{"s1", std::move(previous),
                                         std::move(lines), time_limit_ms});
    sched.run();
    return handle;
  }

  void answer(std::size_t call, http_result result) {
    transport->calls.at(call).done(std::move(result));
    sched.run();
  }

  std::string prompt_of(std::size_t call) {
    auto& body = transport->calls.at(call).call.body;
    auto at = body.find("\"content\":\"");
    return body.substr(at);
  }

  std::shared_ptr<fake_transport> transport = std::make_shared<fake_transport>();
  std::shared_ptr<const provider_context> context;
  provider_worker_actor worker;
};

std::vector<stored_message> lines(int count, std::size_t words = 3) {
  std::vector<stored_message> result;
  for (int i = 1; i <= count; ++i) {
    std::string content = "line" + std::to_string(i);
    for (std::size_t w = 0; w < words; ++w)
      content += " word";
    result.push_back({static_cast<uint64_t>(i), "Human", content});
  }
  return result;
}

template <class Handle>
caf::expected<fold_result> result_of(Handle& handle) {
  caf::expected<fold_result> result{caf::sec::unexpected_response};
  handle.receive([&](fold_result& r) { result = std::move(r); },
                 [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(provider_summarizer_tests, provider_fixture)

CAF_TEST(a fold is one call when it fits) {
  auto handle = start_fold(lines(3), std::string{"before"});
  CAF_REQUIRE_EQUAL(transport->calls.size(), 1u);
  auto& call = transport->calls[0].call;
  CAF_CHECK_EQUAL(call.url, "http://fake/v1/chat/completions");
  CAF_CHECK_NOT_EQUAL(call.body.find("\"model\":\"gpt-test\""), std::string::npos);
  CAF_CHECK_NOT_EQUAL(prompt_of(0).find("before"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(prompt_of(0).find("Human: line3 word"), std::string::npos);
  answer(0, chat_answer("after", 42));
  auto result = result_of(handle);
  CAF_REQUIRE(result);
  CAF_CHECK_EQUAL(result->summary, "after");
  CAF_CHECK_EQUAL(result->tokens_used, 42u);
}

CAF_TEST(retryable failures back off and then succeed) {
  auto handle = start_fold(lines(2));
  answer(0, failure(500));
  CAF_CHECK_EQUAL(transport->calls.size(), 1u); // waiting: 50 ms at attempt 1
  advance_time(std::chrono::milliseconds{50});
  sched.run();
  CAF_REQUIRE_EQUAL(transport->calls.size(), 2u);
  answer(1, http_result{0, {}, {}, "Operation timed out"});
  advance_time(std::chrono::milliseconds{99});
  sched.run();
  CAF_CHECK_EQUAL(transport->calls.size(), 2u); // the delay doubled
  advance_time(std::chrono::milliseconds{1});
  sched.run();
  CAF_REQUIRE_EQUAL(transport->calls.size(), 3u);
  answer(2, chat_answer("done", 5));
  auto result = result_of(handle);
  CAF_REQUIRE(result);
  CAF_CHECK_EQUAL(result->summary, "done");
}

CAF_TEST(a fold whose requester stopped waiting makes no further call) {
  auto handle = start_fold(lines(2), {}, 1000);
  answer(0, failure(429, "2"));
  advance_time(std::chrono::milliseconds{2000});
  sched.run();
  CAF_CHECK_EQUAL(transport->calls.size(), 1u);
  auto result = result_of(handle);
  CAF_CHECK(!result);
}

CAF_TEST(retry after is honoured) {
  auto handle = start_fold(lines(2));
  answer(0, failure(429, "2"));
  advance_time(std::chrono::milliseconds{1999});
  sched.run();
  CAF_CHECK_EQUAL(transport->calls.size(), 1u);
  advance_time(std::chrono::milliseconds{1});
  sched.run();
  CAF_REQUIRE_EQUAL(transport->calls.size(), 2u);
  answer(1, chat_answer("ok", 1));
  CAF_CHECK(result_of(handle));
}

CAF_TEST(a 4xx other than 429 fails the fold at once) {
  auto handle = start_fold(lines(2));
  answer(0, failure(401));
  auto result = result_of(handle);
  CAF_REQUIRE(!result);
  CAF_CHECK_EQUAL(result.error().code(),
                  static_cast<uint8_t>(service_errc::provider_failed));
  CAF_CHECK_EQUAL(transport->calls.size(), 1u);
}

CAF_TEST(the fold fails after the last attempt) {
  auto handle = start_fold(lines(2));
  for (std::size_t attempt = 0; attempt < 3; ++attempt) {
    CAF_REQUIRE_EQUAL(transport->calls.size(), attempt + 1);
    answer(attempt, failure(503));
    advance_time(std::chrono::seconds{1});
    sched.run();
  }
  CAF_CHECK_EQUAL(transport->calls.size(), 3u);
  CAF_CHECK(!result_of(handle));
}

CAF_TEST(a late answer to an abandoned attempt is ignored) {
  auto handle = start_fold(lines(2));
  auto first_done = transport->calls[0].done;
  answer(0, failure(500));
  advance_time(std::chrono::milliseconds{50});
  sched.run();
  CAF_REQUIRE_EQUAL(transport->calls.size(), 2u);
  first_done(chat_answer("stale", 1)); // the first attempt answers after all
  sched.run();
  answer(1, chat_answer("fresh", 2));
  auto result = result_of(handle);
  CAF_REQUIRE(result);
  CAF_CHECK_EQUAL(result->summary, "fresh");
  CAF_CHECK_EQUAL(result->tokens_used, 2u);
}

CAF_TEST(lines beyond the context budget go in several calls) {
  auto ctx = *context;
  ctx.budget.context_tokens = 700; // the prompt alone is about 250 tokens
  ctx.budget.completion_tokens = 100;
  spawn_worker(ctx);
  auto handle = start_fold(lines(6, 60));
  CAF_REQUIRE_EQUAL(transport->calls.size(), 1u);
  CAF_CHECK_EQUAL(prompt_of(0).find("line6 word"), std::string::npos);
  answer(0, chat_answer("part one", 10));
  CAF_REQUIRE_EQUAL(transport->calls.size(), 2u);
  CAF_CHECK_NOT_EQUAL(prompt_of(1).find("part one"), std::string::npos);
  answer(1, chat_answer("part two", 20));
  for (auto i = std::size_t{2}; i < transport->calls.size(); ++i)
    answer(i, chat_answer("part " + std::to_string(i + 1), 1));
  auto result = result_of(handle);
  CAF_REQUIRE(result);
  CAF_CHECK_EQUAL(result->tokens_used, 30u + transport->calls.size() - 2);
  CAF_CHECK_NOT_EQUAL(prompt_of(transport->calls.size() - 1).find("line6 word"),
                      std::string::npos);
}

CAF_TEST(NONE keeps the previous summary) {
  auto handle = start_fold(lines(2), std::string{"kept"});
  answer(0, chat_answer("NONE", 3));
  auto result = result_of(handle);
  CAF_REQUIRE(result);
  CAF_CHECK_EQUAL(result->summary, "kept");
  CAF_CHECK_EQUAL(result->tokens_used, 3u);
}

CAF_TEST(the rate limit delays calls) {
  auto ctx = *context;
  ctx.limiter = std::make_shared<rate_limiter>(1, 0); // one request a minute
  auto limited = spawn_worker(ctx);
  auto first = self->request(caf::actor_cast<caf::actor>(limited), caf::infinite,
                             summarize_atom::value, fold_job{"a", {}, lines(1)});
  auto second = self->request(caf::actor_cast<caf::actor>(limited),
                              caf::infinite, summarize_atom::value,
                              fold_job{"b", {}, lines(1)});
  sched.run();
  // One worker folds one job at a time: the second is refused as busy.
  CAF_CHECK(!result_of(second));
  answer(0, chat_answer("one", 1));
  CAF_CHECK(result_of(first));
  auto third = self->request(caf::actor_cast<caf::actor>(limited), caf::infinite,
                             summarize_atom::value, fold_job{"c", {}, lines(1)});
  sched.run();
  CAF_CHECK_EQUAL(transport->calls.size(), 1u); // the bucket is empty
  advance_time(std::chrono::seconds{60});
  sched.run();
  CAF_REQUIRE_EQUAL(transport->calls.size(), 2u);
  answer(1, chat_answer("two", 1));
  CAF_CHECK(result_of(third));
}

CAF_TEST_FIXTURE_SCOPE_END()
