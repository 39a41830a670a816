// A synchronous, pipelining Redis connection over hiredis that reconnects by
// itself. Meant to be owned by one thread (the persistence actor's).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/outcome.hpp"

struct redisContext;

namespace motorhead {

struct redis_endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string password;
  int database = 0;
};

/// Parses redis://[:password@]host[:port][/db].
outcome<redis_endpoint> parse_redis_url(const std::string& url);

/// Where the master is: the server of REDIS_URL, or the one that the
/// sentinels name (REDIS_URL then gives only the password and database).
struct redis_target {
  redis_endpoint server;
  std::vector<redis_endpoint> sentinels; // host and port of each
  std::string master_name;

  bool uses_sentinels() const { return !sentinels.empty(); }
};

using redis_command = std::vector<std::string>;

/// A Redis reply, copied out of hiredis so it outlives the connection.
struct redis_reply {
  enum class kind { nil, integer, string, status, error, array };
  kind type = kind::nil;
  int64_t integer = 0;
  std::string text;
  std::vector<redis_reply> elements;

  bool is_error() const { return type == kind::error; }
};

/// What a pipeline got back: the replies of the commands Redis answered, in
/// order, and why the others (if any) got none.
struct pipeline_result {
  std::vector<redis_reply> replies;
  std::string error; // empty when every command was answered
  /// The unanswered commands were sent, so Redis may have run them (a
  /// timeout or a connection lost mid-way); false when none left.
  bool maybe_applied = false;

  bool complete() const { return error.empty(); }
};

class redis_connection {
public:
  redis_connection(redis_target target, std::chrono::milliseconds timeout);
  ~redis_connection();

  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  /// Sends all commands in one pipeline and reads their replies, in order.
  /// Connects first when needed. An I/O failure drops the connection (the
  /// next call reconnects) and keeps the replies read before it. Before
  /// the first EVALSHA of a registered script (store::lua_script) on a
  /// connection, the script is loaded in the same pipeline; its reply is
  /// not among the results. A `READONLY` reply (the server is a replica
  /// now: a failover) drops the connection, so the next call finds the
  /// master again.
  pipeline_result execute(const std::vector<redis_command>& commands);

private:
  std::string connect();
  std::string connect_to(const redis_endpoint& endpoint);
  /// The master's address, from the first sentinel that knows it.
  outcome<redis_endpoint> ask_sentinels();
  /// Runs `commands` on a fresh connection: the handshake and checks.
  std::string run_handshake(const std::vector<redis_command>& commands,
                            std::vector<redis_reply>* replies);
  void disconnect();
  /// Appends `command` to the pipeline, preceded by a SCRIPT LOAD when it
  /// runs a script this connection has not loaded; returns how many
  /// commands it appended. `argv` and `argv_len` are scratch space, kept
  /// across the commands of a pipeline so that each does not allocate.
  std::size_t append(const redis_command& command,
                     std::vector<const char*>& argv,
                     std::vector<size_t>& argv_len);

  redis_target target_;
  std::chrono::milliseconds timeout_;
  redisContext* context_ = nullptr;
  /// SHA-1s of the scripts loaded through this connection. A server that
  /// restarted or failed over has none: cleared on every disconnect, and
  /// on a NOSCRIPT reply (a SCRIPT FLUSH).
  std::set<std::string, std::less<>> loaded_scripts_;
};

} // namespace motorhead
