#include "core/json_codec.hpp"

#include <gtest/gtest.h>

#include "core/rapidjson.hpp"

using namespace motorhead;

TEST(AppendRequest, DecodesMessagesAndContext) {
  auto req = json::decode_append_request(
    R"({"messages":[{"role":"Human","content":"ping"},{"role":"AI","content":"pong"}],"context":"earlier"})");
  ASSERT_TRUE(req) << req.error;
  ASSERT_EQ(req.value->messages.size(), 2u);
  EXPECT_EQ(req.value->messages[0].role, "Human");
  EXPECT_EQ(req.value->messages[1].content, "pong");
  EXPECT_EQ(req.value->context, "earlier");
}

TEST(AppendRequest, NullContextIsAbsent) {
  auto req = json::decode_append_request(R"({"messages":[],"context":null})");
  ASSERT_TRUE(req) << req.error;
  EXPECT_FALSE(req.value->context);
}

TEST(AppendRequest, KeepsRolesWithColonsAndUnicode) {
  auto req = json::decode_append_request(
    R"({"messages":[{"role":"tool: search","content":"Bogot\u00e1: \"quoted\"\n"}]})");
  ASSERT_TRUE(req) << req.error;
  EXPECT_EQ(req.value->messages[0].role, "tool: search");
  EXPECT_EQ(req.value->messages[0].content, "Bogot\xc3\xa1: \"quoted\"\n");
}

struct bad_body {
  const char* body;
  const char* expected_error_part;
};

class AppendRequestErrors : public ::testing::TestWithParam<bad_body> {};

TEST_P(AppendRequestErrors, AreReportedInOneSentence) {
  auto req = json::decode_append_request(GetParam().body);
  ASSERT_FALSE(req);
  EXPECT_NE(req.error.find(GetParam().expected_error_part), std::string::npos)
    << req.error;
}

INSTANTIATE_TEST_SUITE_P(
  Bodies, AppendRequestErrors,
  ::testing::Values(bad_body{"", "malformed JSON"},
                    bad_body{"{\"messages\": [", "malformed JSON"},
                    bad_body{"[]", "must be a JSON object"},
                    bad_body{"{}", "\"messages\" array"},
                    bad_body{R"({"messages":{}})", "must be an array"},
                    bad_body{R"({"messages":[1]})", "message 0 must be an object"},
                    bad_body{R"({"messages":[{"content":"x"}]})", "\"role\""},
                    bad_body{R"({"messages":[{"role":"a","content":5}]})",
                             "\"content\" must be a string"},
                    bad_body{R"({"messages":[],"context":3})",
                             "\"context\" must be a string"},
                    bad_body{"{\"messages\":[{\"role\":\"a\",\"content\":\"\xff\xfe\"}]}",
                             "not valid UTF-8 (at byte 36)"},
                    bad_body{"{\"messages\":[{\"role\":\"\xed\xa0\x80\",\"content\":\"\"}]}",
                             "not valid UTF-8"},
                    bad_body{R"({"messages":[{"role":"a","content":"\ud800"}]})",
                             "malformed JSON"},
                    bad_body{R"({"messages":[{"role":"a","content":"x\udc00"}]})",
                             "lone surrogate"},
                    bad_body{R"({"messages":[{"role":"\udfff","content":""}]})",
                             "lone surrogate"},
                    bad_body{R"({"messages":[],"context":"\udc00\ud800"})",
                             "malformed JSON"},
                    bad_body{R"({"messages":[{"role":"a","content":"","id":7}]})",
                             "message 0 field \"id\" must be a string"},
                    bad_body{R"({"messages":[{"role":"a","content":"","id":"a b"}]})",
                             "[A-Za-z0-9._:@-]"},
                    bad_body{R"({"messages":[{"role":"a","content":"","id":""}]})",
                             "\"id\" must be"},
                    bad_body{R"({"messages":[{"role":"a","content":"","id":"x"},)"
                             R"({"role":"b","content":"","id":"x"}]})",
                             "message 1 repeats the id of message 0"},
                    bad_body{R"({"messages":[{"role":"a","content":"",)"
                             R"("created_at":"yesterday"}]})",
                             "\"created_at\" must be an RFC 3339"},
                    bad_body{R"({"messages":[{"role":"a","content":"",)"
                             R"("created_at":1764620097}]})",
                             "\"created_at\" must be an RFC 3339"},
                    bad_body{R"({"messages":[{"role":"a","content":"",)"
                             R"("metadata":[1]}]})",
                             "\"metadata\" must be an object"},
                    bad_body{R"({"messages":[{"role":"a","content":"",)"
                             R"("metadata":"x"}]})",
                             "\"metadata\" must be an object"}));

TEST(AppendRequest, KeepsTheDetailsAClientGives) {
  auto req = json::decode_append_request(
    R"({"messages":[{"role":"Human","content":"hi","id":"m-1",)"
    R"("created_at":"2026-12-01T20:14:57.5+01:00",)"
    R"("metadata":{"lang": "en", "n": [1, 2]},"token_count":99},)"
    R"({"role":"AI","content":"yo","id":null,"metadata":null}]})");
  ASSERT_TRUE(req) << req.error;
  const auto& first = req.value->messages[0].details;
  EXPECT_EQ(first.id, "m-1");
  EXPECT_EQ(first.created_at, 1796152497500); // 19:14:57.5 UTC
  EXPECT_EQ(first.metadata, R"({"lang":"en","n":[1,2]})");
  EXPECT_EQ(first.token_count, 0u); // only the server counts
  const auto& second = req.value->messages[1].details;
  EXPECT_EQ(second.id, "");
  EXPECT_EQ(second.created_at, 0);
  EXPECT_EQ(second.metadata, "");
}

TEST(Decoders, RefuseEscapedLoneSurrogatesAnywhere) {
  EXPECT_FALSE(json::decode_retrieval_query(R"({"text":"\udc00"})"));
  EXPECT_FALSE(json::decode_string_list(R"(["ok","\udfff"])"));
  EXPECT_FALSE(json::decode_stored_message(
    R"({"seq":1,"role":"a","content":"\udc01"})"));
  EXPECT_FALSE(json::decode_chat_response(
    R"({"choices":[{"message":{"content":"\udc00"}}]})"));
  // A key the decoders never read counts too: nothing decoded is kept
  // from a text with one.
  EXPECT_FALSE(json::decode_retrieval_query(R"({"text":"a","\udc00":1})"));
  // A proper pair is a character.
  auto pair = json::decode_retrieval_query(R"({"text":"\ud83d\ude00"})");
  ASSERT_TRUE(pair) << pair.error;
  EXPECT_EQ(pair.value->text, "\xf0\x9f\x98\x80");
}

namespace {

/// A session's window, oldest first, as the session keeps it.
std::vector<packed_message> window_of(const std::vector<stored_message>& messages) {
  return {messages.begin(), messages.end()};
}

} // namespace

TEST(Memory, EncodesNewestFirstWithNullContext) {
  auto window = window_of({{1, "Human", "ping", {}}, {2, "AI", "pong", {}}});
  EXPECT_EQ(json::encode_memory(window, 12, nullptr, 0),
            R"({"messages":[{"role":"AI","content":"pong"},{"role":"Human","content":"ping"}],"context":null,"tokens":0})");
}

TEST(Memory, ShowsOnlyTheNewestOfTheWindow) {
  auto window = window_of({{1, "Human", "one", {}}, {2, "AI", "two", {}},
                           {3, "Human", "three", {}}});
  EXPECT_EQ(json::encode_memory(window, 2, nullptr, 0),
            R"({"messages":[{"role":"Human","content":"three"},{"role":"AI","content":"two"}],"context":null,"tokens":0})");
}

TEST(Memory, RepeatsItselfUnderDataForFlowise) {
  auto window = window_of({{1, "AI", "pong", {}}});
  std::string summary = "sum";
  EXPECT_EQ(json::with_data_envelope(json::encode_memory(window, 12, &summary, 3)),
            R"({"messages":[{"role":"AI","content":"pong"}],"context":"sum","tokens":3,)"
            R"("data":{"messages":[{"role":"AI","content":"pong"}],"context":"sum","tokens":3}})");
}

TEST(Memory, ShowsTheDetailsOfMessagesThatHaveThem) {
  auto window = window_of(
    {{1, "Human", "ping", {"m-1", 1796152497000, "", 1}},
     {2, "AI", "pong", {"m-2", 1796152497500, R"({"a":1})", 1}},
     {3, "AI", "uuid", {"c0ffee00-0000-4000-8000-000000000001", 1796152497600, "", 2}}});
  EXPECT_EQ(json::encode_memory(window, 12, nullptr, 0),
            R"({"messages":[{"role":"AI","content":"uuid",)"
            R"("id":"c0ffee00-0000-4000-8000-000000000001",)"
            R"("created_at":"2026-12-01T19:14:57.600Z","token_count":2},)"
            R"({"role":"AI","content":"pong","id":"m-2",)"
            R"("created_at":"2026-12-01T19:14:57.500Z","metadata":{"a":1},)"
            R"("token_count":1},{"role":"Human","content":"ping","id":"m-1",)"
            R"("created_at":"2026-12-01T19:14:57.000Z","token_count":1}],)"
            R"("context":null,"tokens":0})");
}

TEST(Memory, EscapesContent) {
  auto window = window_of({{1, "AI", "line\n\"q\"", {}}});
  std::string summary = "sum";
  EXPECT_EQ(json::encode_memory(window, 12, &summary, 12),
            R"({"messages":[{"role":"AI","content":"line\n\"q\""}],"context":"sum","tokens":12})");
}

TEST(SmallAnswers, HaveTheOriginalShapes) {
  EXPECT_EQ(json::encode_status_ok(), R"({"status":"Ok"})");
  EXPECT_EQ(json::encode_health(1700000000000), R"({"now":1700000000000})");
  EXPECT_EQ(json::encode_error("bad \"x\""), R"({"error":"bad \"x\""})");
  EXPECT_EQ(json::encode_session_ids({"a", "b"}), R"(["a","b"])");
}

TEST(StoredMessage, RoundTrips) {
  stored_message msg{42, "user: admin", "hello\tworld"};
  auto text = json::encode_stored_message(msg);
  auto back = json::decode_stored_message(text);
  ASSERT_TRUE(back) << back.error;
  EXPECT_EQ(back.value->seq, 42u);
  EXPECT_EQ(back.value->role, "user: admin");
  EXPECT_EQ(back.value->content, "hello\tworld");
}

TEST(StoredMessage, KeepsItsDetails) {
  stored_message msg{3, "Human", "hi", {"m-1", 1796152497500, R"({"k":"v"})", 2}};
  auto text = json::encode_stored_message(msg);
  EXPECT_EQ(text, R"({"seq":3,"role":"Human","content":"hi","id":"m-1",)"
                  R"("created_at":1796152497500,"metadata":{"k":"v"},)"
                  R"("token_count":2})");
  auto back = json::decode_stored_message(text);
  ASSERT_TRUE(back) << back.error;
  EXPECT_EQ(back.value->details.id, "m-1");
  EXPECT_EQ(back.value->details.created_at, 1796152497500);
  EXPECT_EQ(back.value->details.metadata, R"({"k":"v"})");
  EXPECT_EQ(back.value->details.token_count, 2u);
  EXPECT_FALSE(json::decode_stored_message(
    R"({"seq":3,"role":"a","content":"b","metadata":"x"})"));
}

TEST(StoredMessage, RejectsRecordsWithoutSeq) {
  EXPECT_FALSE(json::decode_stored_message(R"({"role":"a","content":"b"})"));
  EXPECT_FALSE(json::decode_stored_message("Human: hello"));
}

TEST(StringList, RoundTripsAndRejectsOtherShapes) {
  auto back = json::decode_string_list(json::encode_string_list({"x", "y"}));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back.value, (std::vector<std::string>{"x", "y"}));
  EXPECT_FALSE(json::decode_string_list("[1]"));
  EXPECT_FALSE(json::decode_string_list("{}"));
}

// -- untrusted input ------------------------------------------------------------

TEST(UntrustedJson, DeepNestingIsAnErrorNotACrash) {
  // 200,000 nested arrays: a recursive parser overflows the stack.
  std::string deep(200000, '[');
  EXPECT_FALSE(json::decode_append_request(deep));
  EXPECT_FALSE(json::decode_retrieval_query(deep));
  EXPECT_FALSE(json::decode_chat_response(deep));
  EXPECT_FALSE(json::decode_embedding_response(deep, 1));
  EXPECT_FALSE(json::decode_string_list(deep));
  std::string closed = deep + std::string(200000, ']');
  EXPECT_FALSE(json::decode_append_request(closed));
}

TEST(UntrustedJson, ValidJsonNestsAtMost128Levels) {
  // Valid, but writing it back (compacting metadata) would recurse as deep.
  auto message_with = [](std::size_t depth) {
    return R"({"messages":[{"role":"a","content":"b","metadata":{"m":)"
           + std::string(depth, '[') + std::string(depth, ']') + "}}]}";
  };
  // The body, the messages array, the message, the metadata: 4 levels.
  EXPECT_TRUE(json::decode_append_request(message_with(124)));
  auto refused = json::decode_append_request(message_with(125));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error, "the JSON nests deeper than 128 levels");
  EXPECT_FALSE(json::decode_session_patch(
    R"({"metadata":{"m":)" + std::string(500000, '[')
    + std::string(500000, ']') + "}}"));
  // Levels are arrays and objects: a value inside the 128th is no level of
  // its own, whatever brackets strings hold.
  auto holding = [](std::size_t depth, const std::string& innermost) {
    return R"({"messages":[{"role":"a","content":"[[{{","metadata":{"m":)"
           + std::string(depth, '[') + innermost + std::string(depth, ']')
           + "}}]}";
  };
  for (const char* innermost : {"1", R"("s")", "null"})
    EXPECT_TRUE(json::decode_append_request(holding(124, innermost)))
      << innermost;
  EXPECT_TRUE(json::decode_append_request(holding(123, R"({"k":1})")));
  EXPECT_FALSE(json::decode_append_request(holding(124, R"({"k":1})")));
}

TEST(UntrustedJson, BytesAfterANulAreNotIgnored) {
  std::string body{"{\"messages\":[]}"};
  body += '\0';
  body += "garbage";
  auto req = json::decode_append_request(body);
  ASSERT_FALSE(req);
  EXPECT_NE(req.error.find("malformed JSON"), std::string::npos) << req.error;
}

// Every control byte a string holds unescaped is refused where it is, at
// any length and place. RapidJSON 1.1.0's SIMD scan of strings
// (RAPIDJSON_SSE2, RAPIDJSON_SSE42) lets 0x1A to 0x1F through when they
// fall in a 16-byte block, and its writer then writes them raw.
TEST(UntrustedJson, ControlBytesInStringsAreRefusedAtTheirOffset) {
  for (std::size_t length = 0; length <= 40; ++length)
    for (char control = 0x01; control < 0x20; ++control) {
      auto before = R"({"messages":[{"role":"a","content":")"
                    + std::string(length, 'x');
      auto refused = json::decode_append_request(before + control + "\"}]}");
      ASSERT_FALSE(refused) << length << " " << int{control};
      EXPECT_NE(refused.error.find("at offset " + std::to_string(before.size())),
                std::string::npos) << refused.error;
    }
}

TEST(UntrustedJson, DuplicateKeysAreRejected) {
  auto req = json::decode_append_request(
    R"({"messages":[],"messages":[{"role":"a","content":"b"}]})");
  ASSERT_FALSE(req);
  EXPECT_NE(req.error.find("duplicate key \"messages\""), std::string::npos)
    << req.error;
  EXPECT_FALSE(json::decode_append_request(
    R"({"messages":[{"role":"a","role":"b","content":"c"}]})"));
  EXPECT_FALSE(json::decode_retrieval_query(R"({"text":"a","text":"b"})"));
}

class ProviderAnswersOfTheWrongShape
  : public ::testing::TestWithParam<const char*> {};

TEST_P(ProviderAnswersOfTheWrongShape, AreErrors) {
  EXPECT_FALSE(json::decode_embedding_response(GetParam(), 1));
  EXPECT_FALSE(json::decode_chat_response(GetParam()));
  EXPECT_FALSE(json::provider_error_text(GetParam()).empty());
}

INSTANTIATE_TEST_SUITE_P(
  Bodies, ProviderAnswersOfTheWrongShape,
  ::testing::Values("1", "[]", "\"text\"", "null", R"({"data":[1]})",
                    R"({"data":[[]]})", R"({"data":[{"index":0,"embedding":1}]})",
                    R"({"data":[{"index":0,"embedding":[1,"x"]}]})",
                    R"({"choices":1})", R"({"choices":[1]})",
                    R"({"choices":[{"message":1}]})",
                    R"({"choices":[{"message":{"content":1}}]})",
                    R"({"usage":1,"choices":[]})", R"({"error":1})",
                    R"({"error":{"message":1}})"));

TEST(SessionPatch, TakesMetadataOnly) {
  auto patch = json::decode_session_patch(R"({"metadata":{"a":1}})");
  ASSERT_TRUE(patch) << patch.error;
  EXPECT_TRUE(patch.value->changes);
  EXPECT_EQ(patch.value->metadata, R"({"a":1})");
  EXPECT_EQ(json::decode_session_patch(R"({"metadata":null})").value->metadata,
            "null");
  // No "metadata": a patch that changes nothing.
  EXPECT_EQ(json::decode_session_patch("{}").value->metadata, "{}");
  for (auto bad : {"[]", R"({"metadata":[1]})", R"({"metadata":"x"})",
                   R"({"created_at":"2026-01-01T00:00:00Z"})",
                   R"({"metadata":{},"metadata":{}})", "{"})
    EXPECT_FALSE(json::decode_session_patch(bad)) << bad;
}

TEST(MergeMetadata, FollowsRfc7396) {
  // The examples of RFC 7396, appendix A, that apply to objects.
  struct example {
    const char* target;
    const char* patch;
    const char* result;
  };
  for (auto [target, patch, result] : std::vector<example>{
         {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
         {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
         {R"({"a":"b"})", R"({"a":null})", "{}"},
         {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
         {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
         {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})",
          R"({"a":{"b":"d"}})"},
         {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
         {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
         {"", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
       }) {
    auto merged = json::merge_metadata(target, patch);
    ASSERT_TRUE(merged) << merged.error;
    EXPECT_EQ(*merged.value, result) << target << " + " << patch;
  }
  EXPECT_EQ(*json::merge_metadata(R"({"a":1})", "null").value, "");
  EXPECT_FALSE(json::merge_metadata("{corrupt", R"({"a":1})"));
}

TEST(SessionInfo, EncodesTimesAndNullsForWhatIsUnknown) {
  session_info info;
  info.exists = true;
  info.metadata = R"({"user":"ann"})";
  info.created_at = 1764616497000;
  info.message_count = 3;
  info.namespaces = {"team"};
  EXPECT_EQ(json::encode_session_info("s1", info),
            R"({"session_id":"s1","metadata":{"user":"ann"},)"
            R"("created_at":"2025-12-01T19:14:57.000Z","updated_at":null,)"
            R"("message_count":3,"namespaces":["team"]})");
}

/// What RapidJSON's own writer makes of `items`: the codec's writer copies
/// runs of plain bytes whole and must escape exactly as it does.
std::string rapidjson_string_list(const std::vector<std::string>& items) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> out{buffer};
  out.StartArray();
  for (const auto& item : items)
    out.String(item.data(), static_cast<rapidjson::SizeType>(item.size()));
  out.EndArray();
  return {buffer.GetString(), buffer.GetSize()};
}

TEST(StringWriting, EscapesEveryByteAsRapidJsonDoes) {
  std::string every_byte;
  for (int byte = 0; byte < 256; ++byte)
    every_byte.push_back(static_cast<char>(byte));
  std::vector<std::string> items{"",
                                 every_byte,
                                 "plain text longer than sixteen bytes",
                                 "\"quoted\"",
                                 "ends with a newline\n",
                                 "\ttabbed\\slashed\x1f",
                                 "caf\xc3\xa9 \xf0\x9f\x8e\xb8",
                                 std::string(1000, 'x') + "\n"};
  EXPECT_EQ(json::encode_string_list(items), rapidjson_string_list(items));
  // Every item but the one of all bytes is UTF-8, which a decode accepts.
  items.erase(items.begin() + 1);
  auto read_back = json::decode_string_list(json::encode_string_list(items));
  ASSERT_TRUE(read_back) << read_back.error;
  EXPECT_EQ(*read_back.value, items);
}

TEST(StringWriting, FindsAnEscapeInAnyPlaceOfAWord) {
  std::vector<std::string> items;
  for (char special : {'"', '\\', '\n', '\x01', '\x1f', '\0'})
    for (std::size_t place = 0; place < 24; ++place) {
      // Bytes just beside the escaped ones: space, '!', '#', '[', ']',
      // DEL and bytes of UTF-8 sequences are written as they are.
      std::string text = " !#[]\x7f\x80\xff !#[]\x7f\x80\xff !#[]\x7f\x80\xff";
      text[place] = special;
      items.push_back(text);
    }
  EXPECT_EQ(json::encode_string_list(items), rapidjson_string_list(items));
}
