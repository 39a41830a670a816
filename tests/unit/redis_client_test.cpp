// The Redis client against a redis-server of its own, on a loopback port
// held for it, stopped by PID: pipelines in flight at once, and what becomes of
// them when their connection is lost.
#include "storage/redis_client.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

using namespace motorhead;
using namespace std::chrono_literals;

namespace {

/// A loopback port held for a server, as the black-box harness holds them
/// (tests/http/harness.py, PortReservation): bound, never listening, with
/// SO_REUSEADDR set after the bind. No other bind or connection gets the
/// port; a redis-server told to listen there can (it sets SO_REUSEADDR),
/// and while none does, connections to it are refused.
class port_reservation {
public:
  port_reservation() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    int on = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    socklen_t size = sizeof address;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
  }
  port_reservation(const port_reservation&) = delete;
  port_reservation& operator=(const port_reservation&) = delete;
  ~port_reservation() { close(fd_); }

  uint16_t port() const { return port_; }

private:
  int fd_;
  uint16_t port_ = 0;
};

/// A redis-server with a password, persisting nothing, that allows DEBUG
/// (DEBUG SLEEP holds a connection's replies back).
class redis_server {
public:
  static constexpr const char* password = "pipeline-secret";

  redis_server() : port_(reservation_.port()), dir_(make_temporary_dir()) {
    pid_ = fork();
    if (pid_ == 0) {
      // Stopped with the test, even one that crashes.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      auto port = std::to_string(port_);
      execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind",
             "127.0.0.1", "--dir", dir_.c_str(), "--save", "", "--appendonly",
             "no", "--requirepass", password, "--enable-debug-command", "yes",
             "--loglevel", "warning", "--logfile", "/dev/null",
             static_cast<char*>(nullptr));
      _exit(127);
    }
  }

  ~redis_server() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    if (!dir_.empty())
      std::filesystem::remove_all(dir_);
  }

  /// A single-Redis client (the kind found by asking the server) with a
  /// 300 ms timeout, once the server answers.
  std::unique_ptr<redis_client> client() const {
    redis_options options;
    options.target.server = endpoint();
    options.seeds = {endpoint()};
    options.timeout = 300ms;
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto client = make_redis_client(options);
      if (client->execute({{"PING"}}, false).complete())
        return client;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "redis-server did not start on port " << port_;
    return make_redis_client(options);
  }

private:
  redis_endpoint endpoint() const {
    return {"127.0.0.1", port_, password, 0};
  }

  /// A folder of its own to run in: never the test's working directory.
  static std::string make_temporary_dir() {
    std::string dir = "/tmp/motorhead-redis-XXXXXX";
    if (mkdtemp(dir.data()) != nullptr)
      return dir;
    ADD_FAILURE() << "cannot make a folder for redis-server";
    return {};
  }

  port_reservation reservation_; // held until the server is stopped
  uint16_t port_;
  std::string dir_;
  pid_t pid_;
};

} // namespace

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
  options.target.server = {"127.0.0.1", nobody_listens.port(), {}, 0};
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
