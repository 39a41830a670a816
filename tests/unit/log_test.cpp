#include "core/log.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "core/json_codec.hpp"
#include "core/rapidjson.hpp"
#include "http/request_id.hpp"

using namespace motorhead;

namespace {

/// Runs `fn` with the log configured so, and returns what it wrote.
template <class Fn>
std::string captured(log_level level, log_format format, Fn fn) {
  configure_log(level, format);
  testing::internal::CaptureStderr();
  fn();
  auto text = testing::internal::GetCapturedStderr();
  configure_log(log_level::info, log_format::text);
  return text;
}

} // namespace

TEST(BurstFilter, LogsTheFirstOfABurstAndRemindsEachMinute) {
  burst_filter filter;
  auto start = burst_filter::clock::now();
  auto at = [&](int ms) { return start + std::chrono::milliseconds{ms}; };
  EXPECT_TRUE(filter.admit("Redis is unreachable", at(0)).log);
  for (int ms = 1000; ms < 60000; ms += 1000)
    EXPECT_FALSE(filter.admit("Redis is unreachable", at(ms)).log);
  // Another failure is its own burst.
  EXPECT_TRUE(filter.admit("the request timed out", at(1)).log);
  auto reminder = filter.admit("Redis is unreachable", at(60000));
  EXPECT_TRUE(reminder.log);
  EXPECT_EQ(reminder.suppressed, 59u);
  EXPECT_FALSE(filter.admit("Redis is unreachable", at(61000)).log);
  // Quiet for 30 s: the next occurrence starts a new burst, and says how
  // many of the last one were not logged.
  auto next = filter.admit("Redis is unreachable", at(100000));
  EXPECT_TRUE(next.log);
  EXPECT_EQ(next.suppressed, 1u);
  EXPECT_FALSE(filter.admit("Redis is unreachable", at(101000)).log);
}

TEST(OutageLog, AnOutageOfOneServerEndsWithItsFirstAnswer) {
  auto start = outage_log::clock::now();
  auto at = [&](int ms) { return start + std::chrono::milliseconds{ms}; };
  auto text = captured(log_level::info, log_format::text, [&] {
    outage_log redis{"persistence", "Redis"};
    for (int ms = 0; ms < 6000; ms += 500)
      redis.failed("Redis is unreachable: Connection refused", at(ms));
    redis.answered(true, at(6100));
    redis.answered(true, at(6200));
    // Down again: a new outage, said again.
    redis.failed("Redis is unreachable: Connection refused", at(7000));
  });
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3) << text;
  EXPECT_NE(text.find("INFO persistence: Redis answers again: it failed 12 "
                      "times over 5.5 s"),
            std::string::npos) << text;
}

TEST(OutageLog, AnOutageOfAGroupEndsAfterAQuietSpell) {
  auto start = outage_log::clock::now();
  auto at = [&](int ms) { return start + std::chrono::milliseconds{ms}; };
  auto text = captured(log_level::info, log_format::text, [&] {
    outage_log redis{"persistence", "Redis"};
    // One master of three down: failures and successes interleave.
    for (int ms = 0; ms < 20000; ms += 100) {
      redis.failed("Redis is unreachable: Connection refused", at(ms));
      redis.answered(false, at(ms + 50));
    }
    redis.answered(false, at(20000 + 31000));
  });
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  EXPECT_NE(text.find("ERROR persistence: Redis is unreachable: Connection "
                      "refused"),
            std::string::npos);
  EXPECT_NE(text.find("INFO persistence: Redis answers again: it failed 200 "
                      "times over 19.9 s"),
            std::string::npos) << text;
}

TEST(BurstFilter, ForgetsWhenTooManyKindsArrive) {
  burst_filter filter;
  auto now = burst_filter::clock::now();
  for (std::size_t i = 0; i <= burst_filter::max_kinds; ++i)
    EXPECT_TRUE(filter.admit("failure " + std::to_string(i), now).log);
  EXPECT_TRUE(filter.admit("failure 1", now).log);
}

TEST(Log, DropsRecordsBelowTheLevel) {
  auto text = captured(log_level::warn, log_format::text, [] {
    log_info("test", "quiet");
    log_warn("test", "loud");
  });
  EXPECT_EQ(text.find("quiet"), std::string::npos);
  EXPECT_NE(text.find("loud"), std::string::npos);
}

TEST(Log, TextLinesQuoteValuesThatNeedIt) {
  auto text = captured(log_level::debug, log_format::text, [] {
    log_warn("http", "a message",
             {text_field("id", "abc"), text_field("reason", "two words"),
              text_field("empty", ""), number_field("ms", 1.5),
              number_field("count", uint64_t{3})});
  });
  ASSERT_GT(text.size(), 25u);
  EXPECT_EQ(text.substr(25), "WARN http: a message id=abc reason=\"two words\" "
                             "empty=\"\" ms=1.5 count=3\n");
  EXPECT_EQ(text[10], 'T'); // 2026-11-25T09:14:03.271Z
  EXPECT_EQ(text[23], 'Z');
}

TEST(Log, JsonLinesAreObjectsWithTypedFields) {
  auto text = captured(log_level::debug, log_format::json, [] {
    log_error("session", "line \"one\"\nline two",
              {text_field("session", "s-1"), number_field("status", uint64_t{503}),
               number_field("duration_ms", 0.25)});
  });
  ASSERT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1); // one line
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  ASSERT_FALSE(doc.HasParseError()) << text;
  EXPECT_STREQ(doc["level"].GetString(), "error");
  EXPECT_STREQ(doc["component"].GetString(), "session");
  EXPECT_STREQ(doc["message"].GetString(), "line \"one\"\nline two");
  EXPECT_STREQ(doc["session"].GetString(), "s-1");
  EXPECT_EQ(doc["status"].GetInt(), 503);
  EXPECT_DOUBLE_EQ(doc["duration_ms"].GetDouble(), 0.25);
  EXPECT_EQ(std::string{doc["time"].GetString()}.size(), 24u);
}

TEST(Log, JsonLinesStayDecodableWhateverTheBytes) {
  auto text = captured(log_level::debug, log_format::json, [] {
    log_warn("summarizer", "provider said \xff\xfe",
             {text_field("body", "<html>\xc3")});
  });
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.c_str());
  ASSERT_FALSE(doc.HasParseError()) << text;
  EXPECT_STREQ(doc["message"].GetString(),
               "provider said \xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_STREQ(doc["body"].GetString(), "<html>\xef\xbf\xbd");
}

TEST(RequestId, AcceptsOnlySafeIds) {
  EXPECT_TRUE(http::is_valid_request_id("abc-123_x.y:z/w+v=u~"));
  EXPECT_TRUE(http::is_valid_request_id(std::string(128, 'a')));
  EXPECT_FALSE(http::is_valid_request_id(""));
  EXPECT_FALSE(http::is_valid_request_id(std::string(129, 'a')));
  EXPECT_FALSE(http::is_valid_request_id("a b"));
  EXPECT_FALSE(http::is_valid_request_id("a\"b"));
  EXPECT_FALSE(http::is_valid_request_id("a\nb"));
  EXPECT_FALSE(http::is_valid_request_id("caf\xc3\xa9"));
}

TEST(RequestId, FreshIdsAreRandomHex) {
  auto a = http::make_request_id();
  auto b = http::make_request_id();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
  EXPECT_EQ(http::request_id_for("keep-me"), "keep-me");
  EXPECT_NE(http::request_id_for("no good"), "no good");
}
