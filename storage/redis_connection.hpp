// A synchronous, pipelining Redis connection (RESP through hiredis, over
// TCP or TLS: see redis_stream) that reconnects by itself. Meant to be owned by one thread (the persistence actor's).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/outcome.hpp"
#include "storage/redis_stream.hpp"

namespace motorhead {

struct redis_endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string password;
  int database = 0;
  /// The ACL user AUTH names with the password; empty: the default user.
  std::string username;
};

/// "host:port": how sentinels, cluster nodes and redirections name a
/// server, and back (without password or database).
std::string address_of(const redis_endpoint& endpoint);
outcome<redis_endpoint> endpoint_of(const std::string& address);

/// Whether a Redis URL asks for TLS (rediss://).
bool uses_tls(std::string_view url);

/// Parses redis://[:password@]host[:port][/db] (or rediss://).
outcome<redis_endpoint> parse_redis_url(const std::string& url);

/// Parses redis://[:password@]host[:port],host[:port],...[/db] (or
/// rediss://): the nodes
/// of a Redis Cluster to ask for its slot map (or a single Redis).
outcome<std::vector<redis_endpoint>>
parse_redis_seeds(const std::string& url);

/// Where the master is: the server of REDIS_URL, or the one that the
/// sentinels name (REDIS_URL then gives only the password and database).
struct redis_target {
  redis_endpoint server;
  std::vector<redis_endpoint> sentinels; // host and port of each
  std::string master_name;
  redis_tls_options tls; // for the server and the sentinels alike

  bool uses_sentinels() const { return !sentinels.empty(); }
};

using redis_command = std::vector<std::string>;

/// A Redis reply, copied out of hiredis so it outlives the connection.
/// `missing` stands for the reply of a command that got none (see the
/// pipeline's error).
struct redis_reply {
  enum class kind { nil, integer, string, status, error, array, missing };
  kind type = kind::nil;
  int64_t integer = 0;
  std::string text;
  std::vector<redis_reply> elements;

  bool is_error() const { return type == kind::error; }
  bool is_missing() const { return type == kind::missing; }
  /// An error reply that starts with `code` ("MOVED", "READONLY", ...).
  bool is_error(std::string_view code) const {
    return is_error() && text.compare(0, code.size(), code) == 0;
  }
};

/// What a pipeline got back: one reply per command, in order, and why some
/// (if any) got none.
struct pipeline_result {
  std::vector<redis_reply> replies;
  std::string error; // empty when every command was answered
  /// The unanswered commands were sent, so Redis may have run them (a
  /// timeout or a connection lost mid-way); false when none left.
  bool maybe_applied = false;
  /// Set when the writes were applied but fewer replicas than required
  /// confirmed them in time (Redis WAIT).
  std::string replication_shortfall;

  explicit pipeline_result(std::size_t commands = 0)
    : replies(commands, redis_reply{redis_reply::kind::missing, 0, {}, {}}) {}

  bool complete() const { return error.empty(); }
  /// Records a failure; the first one names the pipeline's error.
  void fail(const std::string& why, bool sent);
};

/// One command of a pipeline. `asking` sends it after ASKING: its slot is
/// being migrated to this server (Redis Cluster).
struct routed_command {
  const redis_command* command;
  bool asking = false;
};

class redis_connection {
public:
  redis_connection(redis_target target, std::chrono::milliseconds timeout);
  ~redis_connection();

  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  /// Sends all commands in one pipeline and reads their replies, in order.
  /// Connects first when needed. An I/O failure drops the connection (the
  /// next call reconnects); the replies read before it are kept, the
  /// others are missing. Before
  /// the first EVALSHA of a registered script (store::lua_script) on a
  /// connection, the script is loaded in the same pipeline; its reply is
  /// not among the results. A `READONLY` reply (the server is a replica
  /// now: a failover) drops the connection, so the next call finds the
  /// master again. Needs no other pipeline in flight.
  pipeline_result execute(const std::vector<redis_command>& commands);

  /// The two halves of `execute`, so that a caller can have pipelines in
  /// flight at once, on several connections or several on one. `send`
  /// writes the commands (connecting first when needed) and returns false,
  /// with `result` failed, if not all of them left; for each pipeline sent,
  /// `receive` then reads the replies of the oldest one not yet received
  /// into `replies` (one per command sent; those it could not read stay
  /// missing and fail `result`). A pipeline sent on a connection that was
  /// dropped before its replies were read gets none: Redis may have run it.
  bool send(const std::vector<routed_command>& commands,
            pipeline_result& result);
  void receive(std::vector<redis_reply>& replies, pipeline_result& result);

  /// Whether the last round trip found the server read-only (a replica).
  bool demoted() const { return demoted_; }

private:
  std::string connect();
  std::string connect_to(const redis_endpoint& endpoint);
  /// The master's address, from the first sentinel that knows it.
  outcome<redis_endpoint> ask_sentinels();
  outcome<redis_reply> ask_sentinel(const redis_endpoint& sentinel);
  /// Runs `commands` on a fresh connection, before any pipeline: the
  /// handshake and checks.
  std::string run_handshake(const std::vector<redis_command>& commands,
                            std::vector<redis_reply>* replies);
  /// Drops the connection; the pipelines in flight on it fail with `why`.
  void disconnect(const std::string& why);
  /// Appends `command` to the pipeline, preceded by a SCRIPT LOAD when it
  /// runs a script this connection has not loaded, and by ASKING when it
  /// is asked to; returns how many commands it appended.
  std::size_t append(const routed_command& command);

  redis_target target_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<redis_stream> stream_;
  /// SHA-1s of the scripts loaded through this connection. A server that
  /// restarted or failed over has none: cleared on every disconnect, and
  /// on a NOSCRIPT reply (a SCRIPT FLUSH).
  std::set<std::string, std::less<>> loaded_scripts_;
  /// A pipeline sent and not yet received: for each of its commands, how
  /// many replies it has (its own, after those of a SCRIPT LOAD and an
  /// ASKING sent before it), and why it gets none if its connection was
  /// dropped.
  struct pipeline_in_flight {
    std::vector<std::size_t> replies_expected;
    std::string lost_because;
  };
  std::deque<pipeline_in_flight> in_flight_; // oldest first
  bool demoted_ = false;
};

} // namespace motorhead
