// The session registry maps a session id to its session actor, spawning it
// on first use, and forwards the router protocol to it.
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>

#include <caf/actor_addr.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/protocol.hpp"
#include "actors/session_actor.hpp"

namespace motorhead {

/// The registry monitors its sessions instead of linking them: CAF 0.17
/// keeps an actor's links in one list that every link and unlink walks, so
/// a registry linked to N sessions pays O(N) per session that starts or
/// stops. A monitor lives in the session's own, short list.
struct registry_state {
  struct entry {
    session_actor handle;
    uint64_t delegated = 0; // requests handed to the session so far
  };
  std::unordered_map<std::string, entry> sessions;
  /// The id of each live session by address, for its down message.
  std::unordered_map<caf::actor_addr, std::string> ids;
  /// Sessions to retire, a batch per turn (so that requests interleave
  /// with a retirement of every session). A request for one of them
  /// retires it at once and goes to a fresh actor.
  std::unordered_set<std::string> to_retire;
  /// Sessions retired because another node owns them now, until they
  /// finish their writes and stop.
  std::unordered_set<caf::actor_addr> retired;
  session_peers peers; // what each session needs; the registry is this one
  session_limits limits;

  registry_state() = default;
  registry_state(const registry_state&) = delete;
  registry_state& operator=(const registry_state&) = delete;
  /// The registry is gone however it stopped: so are its sessions.
  ~registry_state();

  static inline const char* name = "session_registry";
};

using registry_pointer = registry_actor::stateful_pointer<registry_state>;

/// `peers` names the store, the summarizer and the embedder (if any) of
/// the sessions; the registry adds itself.
registry_actor::behavior_type session_registry(registry_pointer self,
                                               session_peers peers,
                                               session_limits limits);

} // namespace motorhead
