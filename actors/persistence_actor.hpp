// The persistence actor owns the Redis connection. It runs detached (on a
// thread of its own), since hiredis' synchronous API blocks.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/protocol.hpp"
#include "storage/redis_connection.hpp"

namespace motorhead {

/// With replicas > 0, writes are acknowledged only once that many replicas
/// have them: each round trip that carries a write ends with a WAIT.
struct replication_wait {
  std::size_t replicas = 0;
  std::chrono::milliseconds timeout{1000};
};

struct persistence_state {
  /// Commands waiting for the next round trip, and what to do with their
  /// replies, or with the reason there are none and whether Redis may have
  /// run them anyway (the round trip failed after they were sent).
  struct pending_operation {
    store::command_list commands;
    bool writes; // waits for the replicas, if any are required
    std::function<void(const outcome<std::vector<redis_reply>>&,
                       bool maybe_applied)>
      complete;
  };

  std::unique_ptr<redis_connection> redis;
  replication_wait wait;
  std::vector<pending_operation> pending;
  bool flush_scheduled = false;

  static inline const char* name = "persistence";
};

using persistence_pointer
  = persistence_actor::stateful_pointer<persistence_state>;

persistence_actor::behavior_type persistence(persistence_pointer self,
                                             redis_target target,
                                             std::chrono::milliseconds timeout,
                                             replication_wait wait);

} // namespace motorhead
