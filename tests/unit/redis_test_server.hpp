// A redis-server of a test's own, on a loopback port held for it, stopped
// by PID, for the unit tests that run commands against a real Redis.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "storage/redis_client.hpp"

namespace motorhead::testing {


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
  /// 300 ms timeout, once the server answers; its writes wait for the
  /// replicas `wait` names.
  std::unique_ptr<redis_client> client(replication_wait wait = {}) const {
    redis_options options;
    options.target.server = endpoint();
    options.seeds = {endpoint()};
    options.timeout = std::chrono::milliseconds{300};
    options.wait = wait;
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto client = make_redis_client(options);
      if (client->execute({{"PING"}}, false).complete())
        return client;
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    ADD_FAILURE() << "redis-server did not start on port " << port_;
    return make_redis_client(options);
  }

private:
  redis_endpoint endpoint() const {
    return {"127.0.0.1", port_, password, 0, {}};
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


} // namespace motorhead::testing
