// The session registry maps a session id to its session actor, spawning it
// on first use, and forwards the router protocol to it.
#pragma once

#include <set>
#include <string>
#include <unordered_map>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/protocol.hpp"
#include "actors/session_actor.hpp"

namespace motorhead {

struct registry_state {
  struct entry {
    session_actor handle;
    uint64_t delegated = 0; // requests handed to the session so far
  };
  std::unordered_map<std::string, entry> sessions;
  session_peers peers; // what each session needs; the registry is this one
  /// Sessions retired because another node owns them now; still linked, so
  /// that a shutdown stops them too, until they finish and stop.
  std::set<caf::actor_addr> retired;
  session_limits limits;

  static inline const char* name = "session_registry";
};

using registry_pointer = registry_actor::stateful_pointer<registry_state>;

/// `peers` names the store, the summarizer and the embedder (if any) of
/// the sessions; the registry adds itself.
registry_actor::behavior_type session_registry(registry_pointer self,
                                               session_peers peers,
                                               session_limits limits);

} // namespace motorhead
