#include <gtest/gtest.h>

#include "core/json_codec.hpp"
#include "provider/chat_endpoint.hpp"
#include "provider/rate_limiter.hpp"
#include "provider/retry_policy.hpp"
#include "provider/summary_prompt.hpp"

using namespace motorhead;
using namespace std::chrono;

TEST(RetryPolicy, ClassifiesAnswers) {
  EXPECT_EQ(classify({200, "", "", ""}), call_outcome::succeeded);
  EXPECT_EQ(classify({0, "", "", "timeout"}), call_outcome::retryable);
  EXPECT_EQ(classify({429, "", "", ""}), call_outcome::retryable);
  EXPECT_EQ(classify({500, "", "", ""}), call_outcome::retryable);
  EXPECT_EQ(classify({503, "", "", ""}), call_outcome::retryable);
  EXPECT_EQ(classify({400, "", "", ""}), call_outcome::permanent);
  EXPECT_EQ(classify({401, "", "", ""}), call_outcome::permanent);
  EXPECT_EQ(classify({404, "", "", ""}), call_outcome::permanent);
}

TEST(RetryPolicy, ReadsRetryAfter) {
  auto now = system_clock::from_time_t(1700000000); // Tue, 14 Nov 2023 22:13:20
  EXPECT_EQ(parse_retry_after("2", now), milliseconds{2000});
  EXPECT_EQ(parse_retry_after("0.5", now), milliseconds{500});
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:13:30 GMT", now),
            milliseconds{10000});
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:13:00 GMT", now),
            milliseconds{0});
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("soon", now));
}

TEST(RetryPolicy, BacksOffExponentiallyWithJitterAndACap) {
  backoff_policy policy{milliseconds{100}, milliseconds{1000}, 5};
  EXPECT_EQ(backoff_delay(policy, 1, 0.0, std::nullopt), milliseconds{50});
  EXPECT_EQ(backoff_delay(policy, 1, 1.0, std::nullopt), milliseconds{100});
  EXPECT_EQ(backoff_delay(policy, 3, 0.0, std::nullopt), milliseconds{200});
  EXPECT_EQ(backoff_delay(policy, 10, 1.0, std::nullopt), milliseconds{1000});
  EXPECT_EQ(backoff_delay(policy, 1, 0.0, milliseconds{3000}),
            milliseconds{3000});
}

TEST(RetryPolicy, DescribesFailuresWithTheProvidersText) {
  EXPECT_EQ(describe_failure({429, R"({"error":{"message":"Rate limit reached"}})",
                              "", ""}),
            "HTTP 429: Rate limit reached");
  EXPECT_EQ(describe_failure({502, "Bad Gateway", "", ""}), "HTTP 502: Bad Gateway");
  EXPECT_EQ(describe_failure({0, "", "", "Connection refused"}),
            "no answer: Connection refused");
}

TEST(RateLimiter, UnlimitedNeverWaits) {
  rate_limiter limiter{0, 0};
  auto now = steady_clock::now();
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(limiter.acquire(now, 100000), milliseconds{0});
}

TEST(RateLimiter, RequestsPerMinuteRefillContinuously) {
  rate_limiter limiter{60, 0}; // one a second after the first 60
  auto now = steady_clock::now();
  for (int i = 0; i < 60; ++i)
    ASSERT_EQ(limiter.acquire(now, 1), milliseconds{0});
  EXPECT_EQ(limiter.acquire(now, 1), milliseconds{1000});
  EXPECT_EQ(limiter.acquire(now + milliseconds{500}, 1), milliseconds{500});
  EXPECT_EQ(limiter.acquire(now + milliseconds{1000}, 1), milliseconds{0});
}

TEST(RateLimiter, TokensPerMinute) {
  rate_limiter limiter{0, 6000}; // 100 tokens a second
  auto now = steady_clock::now();
  EXPECT_EQ(limiter.acquire(now, 5000), milliseconds{0});
  EXPECT_EQ(limiter.acquire(now, 2000), milliseconds{10000});
  // A call larger than the whole bucket waits for a full bucket.
  EXPECT_EQ(limiter.acquire(now + seconds{60}, 9000), milliseconds{0});
}

TEST(SummaryPrompt, RendersBothPlaceholdersOnce) {
  auto prompt = summary_prompt::from_text("S={summary} L={new_lines}");
  ASSERT_TRUE(prompt) << prompt.error;
  EXPECT_EQ(prompt.value->render("a {new_lines} b", "x"), "S=a {new_lines} b L=x");
  EXPECT_FALSE(summary_prompt::from_text("only {summary}"));
  EXPECT_FALSE(summary_prompt::from_text("only {new_lines}"));
  EXPECT_FALSE(summary_prompt::from_file("/nonexistent/prompt.txt"));
}

TEST(SummaryPrompt, StandardIsTheOriginals) {
  auto text = summary_prompt::standard().render("PREV", "Human: hi\n");
  EXPECT_NE(text.find("Progressively summarize the lines of conversation"),
            std::string::npos);
  EXPECT_NE(text.find("Current summary:\nPREV\nNew lines of conversation:\n"
                      "Human: hi\n\nNew summary:"),
            std::string::npos);
}

TEST(SummaryPrompt, RecognisesNone) {
  EXPECT_TRUE(is_none_answer("NONE"));
  EXPECT_TRUE(is_none_answer(" NONE.\n"));
  EXPECT_TRUE(is_none_answer("\"NONE\""));
  EXPECT_FALSE(is_none_answer("NONE of the lines matter, but the user is Ann"));
  EXPECT_FALSE(is_none_answer(""));
}

namespace {

const bpe_tokenizer& cl100k() {
  static auto loaded = bpe_tokenizer::load_file(
    std::string{MOTORHEAD_TEST_TOKENIZER_DIR} + "/cl100k_base.json");
  if (!loaded)
    throw std::runtime_error(loaded.error);
  return *loaded.value;
}

std::vector<stored_message> long_lines(int count, int words) {
  std::vector<stored_message> lines;
  for (int i = 0; i < count; ++i) {
    std::string content = "line" + std::to_string(i);
    for (int w = 0; w < words; ++w)
      content += " apple";
    lines.push_back({static_cast<uint64_t>(i + 1), "Human", content});
  }
  return lines;
}

} // namespace

TEST(PlanNextCall, TakesEverythingThatFits) {
  auto prompt = summary_prompt::standard();
  auto lines = long_lines(3, 5);
  auto call = plan_next_call(cl100k(), prompt, "", lines, 0, {4096, 512});
  EXPECT_EQ(call.lines_used, 3u);
  EXPECT_EQ(call.prompt_tokens, cl100k().count(call.prompt));
}

TEST(PlanNextCall, SplitsWithinTheBudget) {
  auto prompt = summary_prompt::standard();
  auto lines = long_lines(6, 100);
  prompt_budget budget{700, 100};
  std::size_t first = 0;
  int calls = 0;
  while (first < lines.size()) {
    auto call = plan_next_call(cl100k(), prompt, "summary", lines, first, budget);
    ASSERT_GE(call.lines_used, 1u);
    EXPECT_LE(call.prompt_tokens, 600u);
    first += call.lines_used;
    ++calls;
  }
  EXPECT_GT(calls, 1);
}

TEST(PlanNextCall, CutsALineThatAloneIsTooLong) {
  auto prompt = summary_prompt::standard();
  auto lines = long_lines(1, 2000);
  auto call = plan_next_call(cl100k(), prompt, "", lines, 0, {1000, 200});
  EXPECT_EQ(call.lines_used, 1u);
  EXPECT_LE(call.prompt_tokens, 800u);
}

TEST(ChatCodec, EncodesAndDecodes) {
  auto request = json::encode_chat_request("gpt-x", "say \"hi\"", 512);
  EXPECT_EQ(request, R"({"model":"gpt-x","messages":[{"role":"user","content":"say \"hi\""}],"temperature":0,"max_tokens":512})");
  auto answer = json::decode_chat_response(
    R"({"choices":[{"message":{"role":"assistant","content":"sum"}}],"usage":{"total_tokens":77}})");
  ASSERT_TRUE(answer) << answer.error;
  EXPECT_EQ(answer.value->content, "sum");
  EXPECT_EQ(answer.value->total_tokens, 77u);
  EXPECT_FALSE(json::decode_chat_response("{\"choices\": ["));
  EXPECT_FALSE(json::decode_chat_response(R"({"choices":[]})"));
  EXPECT_FALSE(json::decode_chat_response(R"({"choices":[{"message":{}}]})"));
}

TEST(ChatEndpoint, FollowsTheSettings) {
  settings cfg;
  EXPECT_FALSE(chat_endpoint_from(cfg));
  cfg.openai_api_key = "sk-1";
  auto openai = chat_endpoint_from(cfg);
  ASSERT_TRUE(openai);
  EXPECT_EQ(openai->url, "https://api.openai.com/v1/chat/completions");
  EXPECT_NE(std::find(openai->headers.begin(), openai->headers.end(),
                      "Authorization: Bearer sk-1"),
            openai->headers.end());
  cfg.azure_api_key = "az";
  cfg.azure_api_base = "https://res.openai.azure.com/";
  cfg.azure_deployment_id = "chat";
  cfg.azure_deployment_id_ada = "ada";
  auto azure = chat_endpoint_from(cfg);
  ASSERT_TRUE(azure);
  EXPECT_EQ(azure->url, "https://res.openai.azure.com/openai/deployments/chat/"
                        "chat/completions?api-version=2023-05-15");
  EXPECT_NE(std::find(azure->headers.begin(), azure->headers.end(), "api-key: az"),
            azure->headers.end());
}
