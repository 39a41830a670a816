#include "storage/session_store.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include <gtest/gtest.h>

#include "storage/cluster_slots.hpp"
#include "storage/lua_script.hpp"
#include "storage/original_layout.hpp"
#include "redis_test_server.hpp"

using namespace motorhead;

namespace {

bool is_index_key(const std::string& key) {
  // The single keys of a single Redis.
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

const store::key_layout single = store::key_layout::of(redis_topology::single);
const store::key_layout sharded
  = store::key_layout::of(redis_topology::cluster);

std::vector<std::string> script_keys(const redis_command& eval) {
  auto keys = std::stoul(eval[2]);
  return {eval.begin() + 3, eval.begin() + 3 + static_cast<long>(keys)};
}

bool contains(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

TEST(SessionStore, EveryKeyOfASessionCarriesItsHashTag) {
  EXPECT_EQ(store::messages_key("abc"), "motorhead:session:{abc}:messages");
  EXPECT_EQ(store::meta_key("abc"), "motorhead:session:{abc}:meta");
  // EVAL's key arguments are the session's own keys, messages and meta
  // first (the fence reads KEYS[2]), and on a single Redis the indexes it
  // is listed in.
  store::append_change change;
  change.namespaces = {"team"};
  for (const auto& layout : {single, sharded})
    for (const auto& commands :
         {store::append_commands("abc", change, 1, layout).commands,
          store::load_commands("abc", true), store::fold_commands("abc", {}),
          store::delete_commands("abc", erase_request{{"team"}, false, 0}, 1,
                                 layout).commands,
          store::vectors_commands("abc", {}, false, layout).commands}) {
      ASSERT_EQ(commands[0][0], "EVALSHA");
      ASSERT_NE(store::lua_script::find(commands[0][1]), nullptr);
      auto keys = script_keys(commands[0]);
      ASSERT_GE(keys.size(), 2u);
      EXPECT_EQ(keys[0], store::messages_key("abc"));
      EXPECT_EQ(keys[1], store::meta_key("abc"));
      for (const auto& key : keys)
        EXPECT_TRUE(key.find("{abc}") != std::string::npos
                    || (layout.indexes_in_scripts && is_index_key(key)))
          << key;
    }
}

TEST(SessionStore, OnASingleRedisAppendIsOneFencedScriptThatListsTheSession) {
  store::append_change change;
  change.messages = {{7, "Human", "hi"}};
  change.namespaces = {"team"};
  change.added_namespace = "guests";
  change.next_seq = 8;
  change.epoch = 3;
  auto plan = store::append_commands("abc", change, 1234, single);
  // Nothing runs outside the script, so a stale owner lists nothing.
  ASSERT_EQ(plan.commands.size(), 1u);
  EXPECT_TRUE(plan.index_updates.empty());
  const auto& eval = plan.commands[0];
  EXPECT_EQ(eval[0], "EVALSHA");
  auto keys = script_keys(eval);
  EXPECT_TRUE(contains(keys, "motorhead:sessions"));
  EXPECT_TRUE(contains(keys, "motorhead:namespace:{team}:sessions"));
  EXPECT_TRUE(contains(keys, "motorhead:namespace:{guests}:sessions"));
  const auto* args = &eval[3 + keys.size()];
  EXPECT_EQ(args[0], "3");      // the fencing token comes first
  EXPECT_EQ(args[2], "n");      // flags: only a namespace to join, server ids
  EXPECT_EQ(args[5], "guests"); // the namespace it joins
  EXPECT_EQ(eval.back(), R"({"seq":7,"role":"Human","content":"hi"})");
}

TEST(SessionStore, ASessionJoiningANamespaceLeavesTheOriginalsIndexOfIt) {
  store::append_change change;
  change.messages = {{7, "Human", "hi"}};
  change.added_namespace = "guests";
  change.epoch = 3;
  auto plain = store::append_commands("abc", change, 1234, single);
  EXPECT_FALSE(contains(script_keys(plain.commands[0]), "sessions:guests"));
  auto plan = store::append_commands("abc", change, 1234, single, true);
  const auto& eval = plan.commands[0];
  auto keys = script_keys(eval);
  EXPECT_EQ(keys.back(), "sessions:guests"); // last, after this layout's
  EXPECT_NE(eval[3 + keys.size() + 2].find('o'), std::string::npos); // flags
  change.added_namespace.reset();
  auto staying = store::append_commands("abc", change, 1234, single, true);
  EXPECT_FALSE(contains(script_keys(staying.commands[0]), "sessions:guests"));
}

TEST(SessionStore, OnAClusterTheIndexesFollowTheScriptInShards) {
  store::append_change change;
  change.messages = {{7, "Human", "hi"}};
  change.namespaces = {"team"};
  change.added_namespace = "guests";
  change.embed = true;
  auto plan = store::append_commands("abc", change, 1234, sharded);
  ASSERT_EQ(plan.commands.size(), 1u);
  // messages, meta, ids and the unembedded marks: the session's own keys
  EXPECT_EQ(script_keys(plan.commands[0]).size(), 4u);
  // An acknowledged POST is listed wherever it belongs.
  EXPECT_TRUE(plan.indexes_required);
  auto shard = store::session_index_key("abc", sharded);
  EXPECT_EQ(shard.rfind("motorhead:sessions:{", 0), 0u) << shard;
  // A retry refreshes the lists the session is on...
  EXPECT_EQ(plan.index_updates,
            (store::command_list{
              {"ZADD", shard, "1234", "abc"},
              {"ZADD", "motorhead:namespace:{team}:sessions", "1234", "abc"}}));
  // ...and only a POST that stored something lists it anew.
  EXPECT_EQ(plan.new_index_updates,
            (store::command_list{
              {"ZADD", "motorhead:namespace:{guests}:sessions", "1234", "abc"},
              {"ZADD", store::pending_embeddings_key("abc", sharded), "1234",
               "abc"}}));
  // The shards spread the sessions of every POST over many slots.
  std::set<uint16_t> slots;
  for (int i = 0; i < 200; ++i)
    slots.insert(cluster_slots::key_slot(
      store::session_index_key("session-" + std::to_string(i), sharded)));
  EXPECT_EQ(slots.size(), sharded.index_shards);
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

TEST(SessionStore, DeleteUnlistsEverywhere) {
  erase_request both{{"a", "b"}, false, 0};
  auto plan = store::delete_commands("abc", both, 4, single);
  ASSERT_EQ(plan.commands.size(), 1u);
  auto keys = script_keys(plan.commands[0]);
  std::vector<std::string> indexes{
    "motorhead:sessions", "motorhead:embedding:pending",
    "motorhead:namespace:{a}:sessions", "motorhead:namespace:{b}:sessions"};
  for (const auto& index : indexes)
    EXPECT_TRUE(contains(keys, index)) << index;
  // On a cluster, once the script succeeded, and the delete waits for them.
  auto on_cluster = store::delete_commands("abc", both, 4, sharded);
  EXPECT_EQ(script_keys(on_cluster.commands[0]).size(), 6u);
  EXPECT_TRUE(on_cluster.indexes_required);
  indexes[0] = store::session_index_key("abc", sharded);
  indexes[1] = store::pending_embeddings_key("abc", sharded);
  ASSERT_EQ(on_cluster.index_updates.size(), indexes.size());
  for (std::size_t i = 0; i < indexes.size(); ++i)
    EXPECT_EQ(on_cluster.index_updates[i],
              (redis_command{"ZREM", indexes[i], "abc"}));
}

TEST(SessionStore, UntouchedSessionsAreReadFromEveryShard) {
  auto one = store::untouched_sessions_commands(5000, 100, single);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], (redis_command{"ZRANGEBYSCORE", "motorhead:sessions", "-inf",
                                   "5000", "LIMIT", "0", "100"}));
  auto sharded_reads = store::untouched_sessions_commands(5000, 100, sharded);
  ASSERT_EQ(sharded_reads.size(), sharded.index_shards);
  EXPECT_EQ(sharded_reads[3][1], "motorhead:sessions:{3}");
}

session_page page_of(uint32_t number, uint32_t size,
                     std::optional<std::string> ns = std::nullopt) {
  session_page page;
  page.page = number;
  page.size = size;
  page.ns = std::move(ns);
  return page;
}

TEST(SessionStore, ListPagesAreOneBased) {
  // An index gives its first sessions up to the page's end, with their
  // scores: the last one's is where a cursor listing would go on.
  auto commands = store::list_commands(page_of(3, 10), single);
  EXPECT_EQ(commands[0], (redis_command{"ZRANGE", "motorhead:sessions", "0",
                                        "29", "WITHSCORES"}));
  EXPECT_EQ(store::list_commands(page_of(3, 10, "team"), sharded)[0],
            (redis_command{"ZRANGE", "motorhead:namespace:{team}:sessions",
                           "0", "29", "WITHSCORES"}));
}

TEST(SessionStore, AShardedListMergesTheShardsInOrderOfLastPost) {
  auto page = page_of(2, 2);
  auto commands = store::list_commands(page, sharded);
  ASSERT_EQ(commands.size(), sharded.index_shards);
  EXPECT_EQ(commands[0], (redis_command{"ZRANGE", "motorhead:sessions:{0}",
                                        "0", "3", "WITHSCORES"}));
  auto shard = [](std::vector<std::string> flat) {
    redis_reply reply{redis_reply::kind::array, 0, {}, {}};
    for (auto& text : flat)
      reply.elements.push_back({redis_reply::kind::string, 0, text, {}});
    return reply;
  };
  std::vector<redis_reply> replies(sharded.index_shards, shard({}));
  replies[0] = shard({"a", "10", "d", "40", "f", "60"});
  replies[5] = shard({"b", "20", "c", "30"});
  replies[9] = shard({"e", "30"});
  auto listing = store::decode_list(replies, page, sharded);
  ASSERT_TRUE(listing) << listing.error;
  // a 10, b 20, c 30, e 30, d 40, f 60: the second page of two.
  EXPECT_EQ(listing.value->ids, (std::vector<std::string>{"c", "e"}));
  EXPECT_EQ(listing.value->next.time_ms, 30);
  EXPECT_EQ(listing.value->next.id, "e");

  // The cursor's page: each shard's two after (30, "e"), merged.
  page.by_cursor = true;
  page.after = listing.value->next;
  auto after = store::list_commands(page, sharded);
  ASSERT_EQ(after.size(), sharded.index_shards);
  EXPECT_EQ(after[0][0], "EVALSHA");
  EXPECT_EQ(std::vector<std::string>(after[0].end() - 3, after[0].end()),
            (std::vector<std::string>{"30", "e", "2"}));
  std::vector<redis_reply> rest(sharded.index_shards, shard({}));
  rest[0] = shard({"d", "40", "f", "60"});
  auto next = store::decode_list(rest, page, sharded);
  ASSERT_TRUE(next) << next.error;
  EXPECT_EQ(next.value->ids, (std::vector<std::string>{"d", "f"}));
  rest[0] = shard({"d", "40"});
  auto last = store::decode_list(rest, page, sharded);
  EXPECT_EQ(last.value->ids, (std::vector<std::string>{"d"}));
  EXPECT_TRUE(last.value->next.id.empty()); // fewer than a page: the end
}

TEST(SessionStore, DecodesALoadedSession) {
  redis_reply messages{redis_reply::kind::array, 0, {}, {}};
  messages.elements.push_back(
    {redis_reply::kind::string, 0, R"({"seq":4,"role":"AI","content":"x"})", {}});
  redis_reply meta{redis_reply::kind::array, 0, {}, {}};
  for (auto text : {"context", "so far", "tokens", "17", "next_seq", "3",
                    "namespaces", R"(["a"])", "epoch", "8", "summary_gen", "6"})
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
  EXPECT_FALSE(snapshot.value->has_metadata);
  meta.elements.push_back({redis_reply::kind::string, 0, "metadata", {}});
  meta.elements.push_back({redis_reply::kind::string, 0, "{}", {}});
  snapshot = store::decode_load({claim, messages, meta, pending});
  ASSERT_TRUE(snapshot) << snapshot.error;
  EXPECT_TRUE(snapshot.value->has_metadata);
}

TEST(SessionStore, ASessionLoadedWithoutAClaimHoldsNoEpoch) {
  // The epoch is the claim's: a load that claimed nothing (the session
  // exists nowhere) holds none, whatever a meta read meanwhile says.
  redis_reply no_claim{redis_reply::kind::integer, 0, {}, {}};
  redis_reply messages{redis_reply::kind::array, 0, {}, {}};
  redis_reply meta{redis_reply::kind::array, 0, {}, {}};
  for (auto text : {"epoch", "12"})
    meta.elements.push_back({redis_reply::kind::string, 0, text, {}});
  redis_reply pending{redis_reply::kind::integer, 0, {}, {}};
  auto snapshot = store::decode_load({no_claim, messages, meta, pending});
  ASSERT_TRUE(snapshot) << snapshot.error;
  EXPECT_EQ(snapshot.value->epoch, 0u);
  EXPECT_EQ(snapshot.value->next_seq, 1u);
}

TEST(SessionStore, OnlyAWriteClaimsASessionThatExistsNowhere) {
  auto read = store::load_commands("abc", false);
  auto write = store::load_commands("abc", true);
  ASSERT_EQ(read[0].size(), write[0].size());
  EXPECT_EQ(read[0].back(), "0");
  EXPECT_EQ(write[0].back(), "1");
}

TEST(SessionStore, ARetryVouchesForTheWriteAConflictRefuses) {
  redis_reply stored{redis_reply::kind::integer, 1, {}, {}};
  redis_reply retry{redis_reply::kind::status, 0, "STORED", {}};
  redis_reply nothing_pending{redis_reply::kind::integer, 0, {}, {}};
  redis_reply conflict{redis_reply::kind::error, 0, "CONFLICT 1 of the 2", {}};
  EXPECT_FALSE(store::is_already_stored({stored}));
  EXPECT_FALSE(store::is_already_stored({nothing_pending})); // vectors
  EXPECT_TRUE(store::is_already_stored({retry}));
  EXPECT_EQ(store::first_error({retry}), ""); // not an error reply
  EXPECT_FALSE(store::is_already_stored({conflict}));
  EXPECT_TRUE(store::is_id_conflict({conflict}));
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

TEST(SessionStore, DecodesASessionsInfo) {
  auto fields = [](std::vector<std::optional<std::string>> values) {
    redis_reply reply{redis_reply::kind::array, 0, {}, {}};
    for (auto& value : values)
      reply.elements.push_back(
        value ? redis_reply{redis_reply::kind::string, 0, *value, {}}
              : redis_reply{redis_reply::kind::nil, 0, {}, {}});
    return reply;
  };
  auto info = store::decode_info({fields(
    {"8", "1000", "2000", "5", R"({"a":1})", R"(["team"])"})});
  ASSERT_TRUE(info) << info.error;
  EXPECT_TRUE(info.value->exists);
  EXPECT_EQ(info.value->created_at, 1000);
  EXPECT_EQ(info.value->updated_at, 2000);
  EXPECT_EQ(info.value->message_count, 5u);
  EXPECT_EQ(info.value->metadata, R"({"a":1})");
  EXPECT_EQ(info.value->namespaces, (std::vector<std::string>{"team"}));
  // Written before the count and times were kept: each seq was a message.
  auto old = store::decode_info({fields({"8", {}, {}, {}, {}, {}})});
  ASSERT_TRUE(old);
  EXPECT_EQ(old.value->message_count, 7u);
  EXPECT_EQ(old.value->created_at, 0);
  // Deleted, or never written.
  EXPECT_FALSE(store::decode_info({fields({{}, {}, {}, {}, {}, {}})})
                 .value->exists);
  EXPECT_FALSE(store::decode_info({fields({"x", {}, {}, {}, {}, {}})}));
}

// Two deletes that leave nothing, racing for one session (two sweepers, a
// sweeper and a client): the second finds nothing, not even the claim, and
// is not fenced (a fenced delete stops its session actor, and with it the
// requests it had in flight).
TEST(SessionStoreOnRedis, ASecondDeleteOfNothingLeftIsNotFenced) {
  using motorhead::testing::redis_server;
  redis_server server;
  auto redis = server.client();
  ASSERT_TRUE(redis->execute({{"HSET", "motorhead:session:{gone}:meta",
                               "epoch", "7"}}, true).complete());
  erase_request sweep{{}, true, 0};
  for (int round = 0; round < 2; ++round) {
    auto plan = store::delete_commands("gone", sweep, 7, single);
    auto result = redis->execute(plan.commands, true);
    ASSERT_TRUE(result.complete()) << result.error;
    EXPECT_EQ(result.replies[0].type, redis_reply::kind::integer)
      << "round " << round << ": " << result.replies[0].text;
  }
  // A stale owner's delete of a session claimed anew is still fenced.
  ASSERT_TRUE(redis->execute({{"HSET", "motorhead:session:{gone}:meta",
                               "epoch", "8"}}, true).complete());
  auto stale = redis->execute(store::delete_commands("gone", sweep, 7, single).commands,
                              true);
  ASSERT_TRUE(stale.complete());
  EXPECT_NE(stale.replies[0].text.find("FENCED"), std::string::npos);
}

TEST(OriginalLayout, KeysAreKnownByTheirShape) {
  EXPECT_EQ(store::original_session_of("session:abc"), "abc");
  EXPECT_FALSE(store::original_session_of("sessions:abc"));
  EXPECT_FALSE(store::original_session_of("session:"));
  std::string ns;
  EXPECT_TRUE(store::is_original_index("sessions", ns));
  EXPECT_EQ(ns, "");
  EXPECT_TRUE(store::is_original_index("sessions:team", ns));
  EXPECT_EQ(ns, "team");
  EXPECT_FALSE(store::is_original_index("sessionsX", ns));
  EXPECT_FALSE(store::is_original_index("sessions:", ns));
  EXPECT_TRUE(store::is_original_memory("motorhead:V1StGXR8_Z5jdHi6B-myT"));
  // This layout's keys of the same length have colons and braces.
  EXPECT_FALSE(store::is_original_memory("motorhead:session:{abcdef}:meta"));
  EXPECT_FALSE(store::is_original_memory("motorhead:V1StGXR8_Z5jdHi6B-my"));
  EXPECT_FALSE(store::is_original_memory("other:V1StGXR8_Z5jdHi6B-myTT"));
}
