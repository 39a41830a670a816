#include "storage/cluster_slots.hpp"

#include <gtest/gtest.h>

#include "storage/redis_client.hpp"

using namespace motorhead;
using namespace motorhead::cluster_slots;

namespace {

redis_reply integer(int64_t value) {
  return {redis_reply::kind::integer, value, {}, {}};
}

redis_reply text(std::string value) {
  return {redis_reply::kind::string, 0, std::move(value), {}};
}

redis_reply array(std::vector<redis_reply> elements) {
  return {redis_reply::kind::array, 0, {}, std::move(elements)};
}

redis_reply error(std::string message) {
  return {redis_reply::kind::error, 0, std::move(message), {}};
}

} // namespace

TEST(ClusterSlots, KeySlotsMatchRedis) {
  // The values of CLUSTER KEYSLOT on a real Redis.
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("123456789"), 12739); // CRC16 0x31C3
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("motorhead:session:{abc}:meta"), key_slot("abc"));
  // An empty tag is no tag: the whole key counts.
  EXPECT_EQ(key_slot("{}foo"), 9500);
  EXPECT_EQ(key_slot("foo{}{bar}"), 8363);
}

TEST(ClusterSlots, CommandsAreRoutedByTheirFirstKey) {
  EXPECT_EQ(routing_key({"ZADD", "k", "1", "m"}), std::string_view{"k"});
  EXPECT_EQ(routing_key({"EVALSHA", "sha", "2", "k1", "k2", "a"}),
            std::string_view{"k1"});
  EXPECT_FALSE(routing_key({"EVALSHA", "sha", "0", "a"}));
  EXPECT_FALSE(routing_key({"PING"}));
  EXPECT_FALSE(routing_key({"WAIT", "1", "100"}));
  EXPECT_FALSE(routing_key({"SCRIPT", "LOAD", "return 1"}));
}

TEST(ClusterSlots, DecodesTheSlotMap) {
  auto node = [](std::string host, int64_t port) {
    return array({text(std::move(host)), integer(port), text("id")});
  };
  auto reply = array({
    array({integer(0), integer(5460), node("10.0.0.1", 7000),
           node("10.0.0.4", 7003)}),
    array({integer(5461), integer(16383), node("", 7001)}),
  });
  auto map = decode_slots(reply, "10.0.0.9");
  ASSERT_TRUE(map) << map.error;
  EXPECT_EQ(*map.value->master_of(0), "10.0.0.1:7000");
  EXPECT_EQ(*map.value->master_of(5460), "10.0.0.1:7000");
  // A node without a host is the one that answered.
  EXPECT_EQ(*map.value->master_of(5461), "10.0.0.9:7001");
  EXPECT_EQ(map.value->masters.size(), 2u);
  // A redirection moves one slot.
  map.value->assign(100, "10.0.0.2:7002");
  EXPECT_EQ(*map.value->master_of(100), "10.0.0.2:7002");
  EXPECT_EQ(*map.value->master_of(101), "10.0.0.1:7000");
}

TEST(ClusterSlots, SlotsNoNodeServesAreKnownAsSuch) {
  auto map = decode_slots(array({}), "h");
  ASSERT_TRUE(map);
  EXPECT_EQ(map.value->master_of(42), nullptr);
  EXPECT_FALSE(decode_slots(error("ERR This instance has cluster support "
                                  "disabled"),
                            "h"));
  EXPECT_FALSE(decode_slots(array({array({integer(9), integer(3)})}), "h"));
}

TEST(ClusterSlots, ReadsRedirections) {
  auto moved = redirection_of(error("MOVED 3999 127.0.0.1:6381"));
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->type, redirection::kind::moved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->address, "127.0.0.1:6381");
  auto ask = redirection_of(error("ASK 12 10.1.1.1:7000"));
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->type, redirection::kind::ask);
  EXPECT_FALSE(redirection_of(error("ERR unknown")));
  EXPECT_FALSE(redirection_of(text("MOVED 3999 127.0.0.1:6381")));
  EXPECT_FALSE(redirection_of(error("MOVED 99999 127.0.0.1:6381")));
  EXPECT_FALSE(redirection_of(error("MOVED 12 nowhere")));
}

TEST(RedisUrl, NamesTheSeedsOfACluster) {
  auto seeds = parse_redis_seeds("redis://:pw@a:7000,b:7001,c/0");
  ASSERT_TRUE(seeds) << seeds.error;
  ASSERT_EQ(seeds.value->size(), 3u);
  EXPECT_EQ(motorhead::address_of((*seeds.value)[1]), "b:7001");
  EXPECT_EQ((*seeds.value)[2].port, 6379);
  for (const auto& seed : *seeds.value)
    EXPECT_EQ(seed.password, "pw");
  EXPECT_FALSE(parse_redis_seeds("redis://a:7000,,b:7001"));
  EXPECT_FALSE(parse_redis_seeds("redis://a:7000,b:0"));
  EXPECT_FALSE(parse_redis_url("redis://a:7000,b:7001"));
}

TEST(ReplicationWait, AWriteCountsOnceEnoughReplicasHaveIt) {
  replication_wait wait{2, std::chrono::milliseconds{250}};
  EXPECT_EQ(wait_command(wait), (redis_command{"WAIT", "2", "250"}));
  EXPECT_EQ(replication_shortfall(integer(2), 2), "");
  EXPECT_EQ(replication_shortfall(integer(3), 2), "");
  EXPECT_NE(replication_shortfall(integer(1), 2).find("1 of the 2"),
            std::string::npos);
  EXPECT_NE(replication_shortfall(error("ERR WAIT cannot be used"), 2), "");
  EXPECT_NE(replication_shortfall(text("OK"), 2), "");
}
