// The store of record as the persistence actor sees it: one Redis (perhaps
// found through Sentinel) or a Redis Cluster, either of which runs
// pipelines of commands, several in flight at once where it can. Meant to
// be owned by one thread.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "storage/redis_connection.hpp"

namespace motorhead {

enum class redis_topology { single, cluster };

/// With replicas > 0, writes are acknowledged only once that many replicas
/// have them: each round trip that carries a write ends with a WAIT.
struct replication_wait {
  std::size_t replicas = 0;
  std::chrono::milliseconds timeout{1000};
};

struct redis_options {
  enum class mode { automatic, single, cluster };
  mode topology = mode::automatic;
  /// The server, or the master the sentinels name.
  redis_target target;
  /// Every node REDIS_URL names: the seeds of a cluster (the first is
  /// `target.server`).
  std::vector<redis_endpoint> seeds;
  std::chrono::milliseconds timeout{2000};
  replication_wait wait;
};

class redis_client {
public:
  virtual ~redis_client() = default;

  /// Sends `commands` as one pipeline without waiting for their replies;
  /// `receive` returns them, one pipeline per call, in the order sent. So
  /// Redis can run one pipeline while the caller handles the replies of
  /// the one before. With `writes`, a reply counts as acknowledged only
  /// once the replicas that `replication_wait` requires have it (otherwise
  /// the result names the shortfall).
  virtual void send(std::vector<redis_command> commands, bool writes) = 0;
  virtual pipeline_result receive() = 0;

  /// Runs `commands` and returns one reply per command, in order: `send`,
  /// then `receive`, with no other pipeline in flight.
  pipeline_result execute(std::vector<redis_command> commands, bool writes) {
    send(std::move(commands), writes);
    return receive();
  }

  /// Single or cluster, once known: detecting it needs a server that
  /// answers, so it may stay unknown (an error) until Redis is up.
  virtual outcome<redis_topology> topology() = 0;
};

/// A client that runs one pipeline at a time: `send` only queues it, and
/// `receive` runs the oldest queued (a Redis Cluster, whose commands may be
/// redirected from one master to another, is such a client).
class one_pipeline_at_a_time : public redis_client {
public:
  void send(std::vector<redis_command> commands, bool writes) final;
  pipeline_result receive() final;

protected:
  virtual pipeline_result run(const std::vector<redis_command>& commands,
                              bool writes) = 0;

private:
  struct queued_pipeline {
    std::vector<redis_command> commands;
    bool writes;
  };
  std::deque<queued_pipeline> queued_;
};

std::unique_ptr<redis_client> make_redis_client(redis_options options);

/// The WAIT that ends a pipeline with writes.
redis_command wait_command(const replication_wait& wait);

/// Why the writes before a WAIT are not acknowledged, from its reply; ""
/// when enough replicas have them.
std::string replication_shortfall(const redis_reply& reply,
                                  std::size_t replicas);

} // namespace motorhead
