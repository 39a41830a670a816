// The persistence actor owns the Redis connections. It runs detached (on a
// thread of its own), since hiredis' synchronous API blocks.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/protocol.hpp"
#include "storage/redis_client.hpp"
#include "storage/session_store.hpp"

namespace motorhead {

struct persistence_state {
  using completion = std::function<void(
    const outcome<std::vector<redis_reply>>&, bool maybe_applied)>;

  /// An operation waiting for the next round trip: how to make its
  /// commands (they depend on where the keys live, known once Redis
  /// answers) and what to do with their replies, or with the reason there
  /// are none and whether Redis may have run them anyway (the round trip
  /// failed after they were sent).
  struct pending_operation {
    std::function<store::write_plan(const store::key_layout&)> build;
    bool writes; // waits for the replicas, if any are required
    completion complete;
  };

  /// A pipeline sent and not yet received: its operations and the plans
  /// their commands came from.
  struct round_trip {
    std::vector<pending_operation> operations;
    std::vector<store::write_plan> plans;
  };

  std::unique_ptr<redis_client> redis;
  std::optional<store::original_import> original;
  std::vector<pending_operation> pending;
  std::deque<round_trip> in_flight; // oldest first; at most two
  bool flush_scheduled = false;

  static inline const char* name = "persistence";
};

using persistence_pointer
  = persistence_actor::stateful_pointer<persistence_state>;

/// What the persistence actor connects to, and whether its loads move
/// sessions found only in the original Motorhead's keys (see
/// store::original_import).
struct persistence_options {
  redis_options redis;
  std::optional<store::original_import> original;
};

persistence_actor::behavior_type persistence(persistence_pointer self,
                                             persistence_options options);

} // namespace motorhead
