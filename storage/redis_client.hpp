// The store of record as the persistence actor sees it: one Redis (perhaps
// found through Sentinel) or a Redis Cluster, either of which runs
// pipelines of commands. Meant to be owned by one thread.
#pragma once

#include <chrono>
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

  /// Runs `commands` and returns one reply per command, in order. With
  /// `writes`, a reply counts as acknowledged only once the replicas that
  /// `replication_wait` requires have it (otherwise the result names the
  /// shortfall).
  virtual pipeline_result execute(const std::vector<redis_command>& commands,
                                  bool writes) = 0;

  /// Single or cluster, once known: detecting it needs a server that
  /// answers, so it may stay unknown (an error) until Redis is up.
  virtual outcome<redis_topology> topology() = 0;
};

std::unique_ptr<redis_client> make_redis_client(redis_options options);

/// The WAIT that ends a pipeline with writes.
redis_command wait_command(const replication_wait& wait);

/// Why the writes before a WAIT are not acknowledged, from its reply; ""
/// when enough replicas have them.
std::string replication_shortfall(const redis_reply& reply,
                                  std::size_t replicas);

} // namespace motorhead
