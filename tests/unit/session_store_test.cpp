#include "storage/session_store.hpp"

#include <gtest/gtest.h>

using namespace motorhead;

TEST(SessionStore, EveryKeyOfASessionCarriesItsHashTag) {
  EXPECT_EQ(store::messages_key("abc"), "motorhead:session:{abc}:messages");
  EXPECT_EQ(store::meta_key("abc"), "motorhead:session:{abc}:meta");
  // EVAL's key arguments are always the session's own keys, messages and
  // meta first (the fence reads KEYS[2]).
  for (const auto& commands :
       {store::append_commands("abc", {}, 1), store::load_commands("abc"),
        store::fold_commands("abc", {}), store::delete_commands("abc", {}, 1),
        store::vectors_commands("abc", {}, false)}) {
    ASSERT_EQ(commands[0][0], "EVAL");
    auto keys = std::stoul(commands[0][2]);
    EXPECT_GE(keys, 2u);
    EXPECT_EQ(commands[0][3], store::messages_key("abc"));
    EXPECT_EQ(commands[0][4], store::meta_key("abc"));
    for (std::size_t i = 0; i < keys; ++i)
      EXPECT_NE(commands[0][3 + i].find("{abc}"), std::string::npos);
  }
}

TEST(SessionStore, AppendIsOneScriptPlusIndexUpdates) {
  store::append_change change;
  change.messages = {{7, "Human", "hi"}};
  change.namespaces = {"team"};
  change.next_seq = 8;
  change.epoch = 3;
  auto commands = store::append_commands("abc", change, 1234);
  ASSERT_EQ(commands.size(), 3u);
  EXPECT_EQ(commands[0][0], "EVAL");
  EXPECT_EQ(commands[0][7], "3"); // the fencing token comes first
  EXPECT_EQ(commands[0].back(), R"({"seq":7,"role":"Human","content":"hi"})");
  EXPECT_EQ(commands[1],
            (redis_command{"ZADD", "motorhead:sessions", "1234", "abc"}));
  EXPECT_EQ(commands[2], (redis_command{"ZADD",
                                        "motorhead:namespace:{team}:sessions",
                                        "1234", "abc"}));
}

TEST(SessionStore, ListPagesAreOneBased) {
  auto commands = store::list_commands({3, 10, std::nullopt});
  EXPECT_EQ(commands[0],
            (redis_command{"ZRANGE", "motorhead:sessions", "20", "29"}));
}

TEST(SessionStore, DecodesALoadedSession) {
  redis_reply messages{redis_reply::kind::array, 0, {}, {}};
  messages.elements.push_back(
    {redis_reply::kind::string, 0, R"({"seq":4,"role":"AI","content":"x"})", {}});
  redis_reply meta{redis_reply::kind::array, 0, {}, {}};
  for (auto text : {"context", "so far", "tokens", "17", "next_seq", "3",
                    "namespaces", R"(["a"])", "epoch", "9"})
    meta.elements.push_back({redis_reply::kind::string, 0, text, {}});
  redis_reply claim{redis_reply::kind::integer, 9, {}, {}};
  redis_reply pending{redis_reply::kind::integer, 2, {}, {}};
  auto snapshot = store::decode_load({claim, messages, meta, pending});
  ASSERT_TRUE(snapshot) << snapshot.error;
  EXPECT_EQ(snapshot.value->messages.size(), 1u);
  EXPECT_EQ(snapshot.value->context, "so far");
  EXPECT_EQ(snapshot.value->tokens, 17u);
  // next_seq is never below the newest stored message.
  EXPECT_EQ(snapshot.value->next_seq, 5u);
  EXPECT_EQ(snapshot.value->namespaces, (std::vector<std::string>{"a"}));
  EXPECT_EQ(snapshot.value->epoch, 9u);
  EXPECT_EQ(snapshot.value->unembedded, 2u);
}

TEST(SessionStore, AnEmptySessionDecodes) {
  redis_reply empty{redis_reply::kind::array, 0, {}, {}};
  redis_reply claim{redis_reply::kind::integer, 1, {}, {}};
  redis_reply none{redis_reply::kind::integer, 0, {}, {}};
  auto snapshot = store::decode_load({claim, empty, empty, none});
  ASSERT_TRUE(snapshot);
  EXPECT_TRUE(snapshot.value->messages.empty());
  EXPECT_FALSE(snapshot.value->context);
  EXPECT_EQ(snapshot.value->next_seq, 1u);
}

TEST(SessionStore, ReportsRedisErrors) {
  redis_reply error{redis_reply::kind::error, 0, "WRONGTYPE", {}};
  redis_reply empty{redis_reply::kind::array, 0, {}, {}};
  EXPECT_FALSE(store::decode_load({error, empty, empty, empty}));
  EXPECT_NE(store::first_error({empty, error}), "");
  redis_reply fenced{redis_reply::kind::error, 0, "FENCED newer owner", {}};
  EXPECT_TRUE(store::is_fenced({fenced, empty}));
  EXPECT_FALSE(store::is_fenced({error, empty}));
}
