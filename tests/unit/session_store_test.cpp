#include "storage/session_store.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "storage/lua_script.hpp"

using namespace motorhead;

namespace {

bool is_index_key(const std::string& key) {
  return key == "motorhead:sessions" || key == "motorhead:embedding:pending"
         || (key.rfind("motorhead:namespace:{", 0) == 0
             && key.find("}:sessions") != std::string::npos);
}

} // namespace

TEST(LuaScript, IsCalledByItsSha1) {
  static const store::lua_script script{"return 1"};
  // Redis names a script by the SHA-1 of its text: SCRIPT LOAD "return 1".
  EXPECT_EQ(script.sha(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  EXPECT_EQ(store::lua_script::find(script.sha()), &script);
  EXPECT_EQ(store::lua_script::find("0000"), nullptr);
  EXPECT_EQ(script.call({"k1", "k2"}, {"a"}),
            (redis_command{"EVALSHA", script.sha(), "2", "k1", "k2", "a"}));
}

TEST(SessionStore, EveryKeyOfASessionCarriesItsHashTag) {
  EXPECT_EQ(store::messages_key("abc"), "motorhead:session:{abc}:messages");
  EXPECT_EQ(store::meta_key("abc"), "motorhead:session:{abc}:meta");
  // EVAL's key arguments are the session's own keys, messages and meta
  // first (the fence reads KEYS[2]), and the indexes it is listed in.
  store::append_change change;
  change.namespaces = {"team"};
  for (const auto& commands :
       {store::append_commands("abc", change, 1), store::load_commands("abc"),
        store::fold_commands("abc", {}), store::delete_commands("abc", {"team"}, 1),
        store::vectors_commands("abc", {}, false)}) {
    ASSERT_EQ(commands[0][0], "EVALSHA");
    ASSERT_NE(store::lua_script::find(commands[0][1]), nullptr);
    auto keys = std::stoul(commands[0][2]);
    EXPECT_GE(keys, 2u);
    EXPECT_EQ(commands[0][3], store::messages_key("abc"));
    EXPECT_EQ(commands[0][4], store::meta_key("abc"));
    for (std::size_t i = 0; i < keys; ++i) {
      const auto& key = commands[0][3 + i];
      EXPECT_TRUE(key.find("{abc}") != std::string::npos || is_index_key(key))
        << key;
    }
  }
}

TEST(SessionStore, AppendIsOneFencedScriptThatAlsoListsTheSession) {
  store::append_change change;
  change.messages = {{7, "Human", "hi"}};
  change.namespaces = {"team"};
  change.next_seq = 8;
  change.epoch = 3;
  auto commands = store::append_commands("abc", change, 1234);
  // Nothing runs outside the script, so a stale owner lists nothing.
  ASSERT_EQ(commands.size(), 1u);
  const auto& eval = commands[0];
  EXPECT_EQ(eval[0], "EVALSHA");
  auto keys = std::stoul(eval[2]);
  std::vector<std::string> key_args(eval.begin() + 3, eval.begin() + 3 + keys);
  EXPECT_NE(std::find(key_args.begin(), key_args.end(), "motorhead:sessions"),
            key_args.end());
  EXPECT_NE(std::find(key_args.begin(), key_args.end(),
                      "motorhead:namespace:{team}:sessions"),
            key_args.end());
  EXPECT_EQ(eval[3 + keys], "3"); // the fencing token comes first
  EXPECT_EQ(eval.back(), R"({"seq":7,"role":"Human","content":"hi"})");
}

TEST(SessionStore, AFoldNamesExactlyTheMessagesItCovers) {
  store::fold_change change{{4, 5, 7}, 2, "summary", 10, 9};
  auto commands = store::fold_commands("abc", change);
  ASSERT_EQ(commands.size(), 1u);
  const auto& eval = commands[0];
  EXPECT_EQ(eval[2], "2");
  EXPECT_EQ((std::vector<std::string>(eval.begin() + 5, eval.end())),
            (std::vector<std::string>{"9", "2", "summary", "10", "4", "5", "7"}));
}

TEST(SessionStore, DeleteIsOneFencedScriptThatUnlistsEverywhere) {
  auto commands = store::delete_commands("abc", {"a", "b"}, 4);
  ASSERT_EQ(commands.size(), 1u);
  const auto& eval = commands[0];
  auto keys = std::stoul(eval[2]);
  std::vector<std::string> key_args(eval.begin() + 3, eval.begin() + 3 + keys);
  for (const char* index :
       {"motorhead:sessions", "motorhead:embedding:pending",
        "motorhead:namespace:{a}:sessions", "motorhead:namespace:{b}:sessions"})
    EXPECT_NE(std::find(key_args.begin(), key_args.end(), index),
              key_args.end())
      << index;
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
                    "namespaces", R"(["a"])", "epoch", "9", "summary_gen", "6"})
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
  EXPECT_EQ(snapshot.value->summary_generation, 6u);
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
  redis_reply stale{redis_reply::kind::error, 0, "STALE summary replaced", {}};
  EXPECT_TRUE(store::is_stale({stale}));
  EXPECT_FALSE(store::is_stale({fenced}));
}
