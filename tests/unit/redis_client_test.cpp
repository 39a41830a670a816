// The Redis client against a redis-server of its own, on a loopback port
// held for it, stopped by PID: pipelines in flight at once, and what becomes of
// them when their connection is lost.
#include "storage/redis_client.hpp"

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "redis_test_server.hpp"

using namespace motorhead;
using namespace motorhead::testing;
using namespace std::chrono_literals;

TEST(RedisClient, PipelinesInFlightAtOnceGetTheirOwnReplies) {
  redis_server server;
  auto redis = server.client();
  redis->send({{"SET", "counter", "1"}, {"INCR", "counter"}}, true);
  redis->send({{"INCR", "counter"}}, true);
  redis->send({{"GET", "counter"}, {"GET", "absent"}}, false);

  auto first = redis->receive();
  ASSERT_TRUE(first.complete()) << first.error;
  ASSERT_EQ(first.replies.size(), 2u);
  EXPECT_EQ(first.replies[0].text, "OK");
  EXPECT_EQ(first.replies[1].integer, 2);
  auto second = redis->receive();
  ASSERT_EQ(second.replies.size(), 1u);
  EXPECT_EQ(second.replies[0].integer, 3);
  auto third = redis->receive();
  ASSERT_EQ(third.replies.size(), 2u);
  EXPECT_EQ(third.replies[0].text, "3");
  EXPECT_EQ(third.replies[1].type, redis_reply::kind::nil);
}

TEST(RedisClient, ArgumentsTravelByteForByte) {
  redis_server server;
  auto redis = server.client();
  const std::string value("line\r\n$3\r\nend\0zero", 18);
  const std::string large(100000, 'x');
  redis->send({{"SET", "binary", value}, {"GET", "binary"},
               {"SET", "empty", ""}, {"GET", "empty"},
               {"SET", "large", large}, {"STRLEN", "large"}},
              false);
  auto result = redis->receive();
  ASSERT_TRUE(result.complete()) << result.error;
  ASSERT_EQ(result.replies.size(), 6u);
  EXPECT_EQ(result.replies[1].text, value);
  EXPECT_EQ(result.replies[3].text, "");
  EXPECT_EQ(result.replies[3].type, redis_reply::kind::string);
  EXPECT_EQ(result.replies[5].integer, 100000);
}

TEST(RedisClient, APipelineBehindALostOneFailsAsPossiblyApplied) {
  redis_server server;
  auto redis = server.client();
  // The first pipeline's reply comes after the client's timeout: the
  // connection is dropped with the second still in flight behind it.
  redis->send({{"DEBUG", "SLEEP", "0.6"}}, false);
  redis->send({{"SET", "after-sleep", "1"}}, true);
  auto slept = redis->receive();
  EXPECT_FALSE(slept.complete());
  EXPECT_TRUE(slept.maybe_applied);
  std::this_thread::sleep_for(400ms); // DEBUG SLEEP holds all of Redis
  // A pipeline sent now goes on a new connection (which authenticates
  // first); the lost one is failed when its turn comes, and the handshake
  // takes none of the new pipeline's replies.
  redis->send({{"ECHO", "new connection"}}, false);
  auto behind = redis->receive();
  EXPECT_FALSE(behind.complete());
  EXPECT_TRUE(behind.maybe_applied);
  ASSERT_EQ(behind.replies.size(), 1u);
  EXPECT_TRUE(behind.replies[0].is_missing());
  auto fresh = redis->receive();
  ASSERT_TRUE(fresh.complete()) << fresh.error;
  ASSERT_EQ(fresh.replies.size(), 1u);
  EXPECT_EQ(fresh.replies[0].text, "new connection");
  // Redis did run the write whose reply was lost.
  auto check = redis->execute({{"GET", "after-sleep"}}, false);
  ASSERT_TRUE(check.complete()) << check.error;
  EXPECT_EQ(check.replies[0].text, "1");
}

TEST(RedisClient, APipelineSentWhileRedisIsDownFailsAsNotApplied) {
  port_reservation nobody_listens;
  redis_options options;
  options.target.server = {"127.0.0.1", nobody_listens.port(), {}, 0, {}};
  options.seeds = {options.target.server};
  options.timeout = 300ms;
  auto redis = make_redis_client(options);
  redis->send({{"SET", "k", "v"}}, true);
  redis->send({{"GET", "k"}}, false);
  for (int i = 0; i < 2; ++i) {
    auto result = redis->receive();
    EXPECT_FALSE(result.complete());
    EXPECT_FALSE(result.maybe_applied);
    ASSERT_EQ(result.replies.size(), 1u);
    EXPECT_TRUE(result.replies[0].is_missing());
  }
}

TEST(RedisClient, AWriteWhoseWaitForReplicasWasCutOffIsNotAcknowledged) {
  redis_server server;
  // The server has no replica: WAIT holds the connection for its 250 ms,
  // within the client's 300 ms timeout. It is killed meanwhile, as a
  // sentinel kills the clients of a master it turns into a replica: the
  // write's reply arrived, the replicas' count never did.
  auto redis = server.client({1, 250ms});
  auto killer = std::async(std::launch::async, [&server] {
    std::this_thread::sleep_for(100ms);
    auto other = server.client();
    return other->execute({{"CLIENT", "KILL", "TYPE", "normal", "SKIPME",
                            "yes"}},
                          false);
  });
  redis->send({{"SET", "k", "v"}}, true);
  auto result = redis->receive();
  auto killed = killer.get();
  ASSERT_TRUE(killed.complete()) << killed.error;
  ASSERT_EQ(killed.replies[0].integer, 1) << "the writer was not killed";
  ASSERT_EQ(result.replies.size(), 1u);
  EXPECT_EQ(result.replies[0].text, "OK");
  EXPECT_NE(result.replication_shortfall, "")
    << "a write no replica confirmed counts as acknowledged";
}
