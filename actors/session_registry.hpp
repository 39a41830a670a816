// The session registry maps a session id to its session actor, spawning it
// on first use, and forwards the router protocol to it. It keeps the
// session cache: sessions idle for long enough stop, and beyond a bound
// the least recently used stop first.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <caf/actor_addr.hpp>
#include <caf/actor_clock.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/protocol.hpp"
#include "actors/session_actor.hpp"

namespace motorhead {

/// When session actors stop; their data stays in Redis.
struct session_cache_policy {
  /// A session with no request for this long stops.
  std::chrono::milliseconds idle{std::chrono::minutes{5}};
  /// Live sessions at most (0: no bound); beyond it the least recently
  /// used idle ones stop first.
  std::size_t max_sessions = 0;
};

/// Hashes of the registry's maps that libstdc++ does not store in each
/// node: it stores a hash unless the hasher is noexcept and not the
/// standard one of strings. Every live session has a node in both maps,
/// and 8 bytes less puts each in a smaller size class of the allocator
/// (88 to 80 bytes, 32 to 24). A lookup hashes the ids it compares
/// instead; they are short.
struct session_id_hash {
  std::size_t operator()(const std::string& id) const noexcept {
    return std::hash<std::string>{}(id);
  }
};
struct actor_address_hash {
  std::size_t operator()(const caf::actor_addr& address) const noexcept {
    return std::hash<caf::actor_addr>{}(address);
  }
};

/// The registry monitors its sessions instead of linking them: CAF 0.17
/// keeps an actor's links in one list that every link and unlink walks, so
/// a registry linked to N sessions pays O(N) per session that starts or
/// stops. A monitor lives in the session's own, short list.
struct registry_state {
  struct entry;
  using slot = std::pair<const std::string, entry>;
  struct entry {
    session_actor handle;
    caf::actor_clock::time_point last_used;
    /// Links in the recency list; both null while the session is asked
    /// whether it may stop, and so out of the list.
    slot* newer = nullptr;
    slot* older = nullptr;
    /// The question whether it may stop that it is asked now; 0: none. An
    /// answer to an earlier question (asked before a request made the
    /// session busy) settles nothing.
    uint32_t stop_question = 0;
  };

  /// Sessions by the time of their last request, intrusive so that it costs
  /// two pointers per session: the oldest go first, when idle or evicted.
  class recency_list {
  public:
    void push_newest(slot& s);
    void unlink(slot& s);
    slot* oldest() const { return oldest_; }

  private:
    slot* newest_ = nullptr;
    slot* oldest_ = nullptr;
  };

  using session_map = std::unordered_map<std::string, entry, session_id_hash>;
  session_map sessions;
  recency_list recency;
  /// Sessions asked whether they may stop, awaiting their answer.
  std::size_t asked_to_stop = 0;
  uint32_t last_stop_question = 0;
  bool sweep_scheduled = false;
  /// Each live session by address, for its down message.
  std::unordered_map<caf::actor_addr, slot*, actor_address_hash> ids;
  /// Sessions to retire, a batch per turn (so that requests interleave
  /// with a retirement of every session). A request for one of them
  /// retires it at once and goes to a fresh actor.
  std::unordered_set<std::string> to_retire;
  /// Sessions retired because another node owns them now, until they
  /// finish their writes and stop.
  std::unordered_set<caf::actor_addr> retired;
  /// Releases waiting for every retired session to stop.
  std::vector<caf::typed_response_promise<ok_atom>> release_waiters;
  /// What each session needs, shared by all of them.
  std::shared_ptr<const session_setup> setup;
  session_cache_policy cache;

  registry_state() = default;
  registry_state(const registry_state&) = delete;
  registry_state& operator=(const registry_state&) = delete;
  /// The registry is gone however it stopped: so are its sessions.
  ~registry_state();

  static inline const char* name = "session_registry";
};

using registry_pointer = registry_actor::stateful_pointer<registry_state>;

/// `setup` is what every session shares: its limits, the store, the
/// summarizer and the embedder (if any), the tokenizer.
registry_actor::behavior_type session_registry(registry_pointer self,
                                               session_setup setup,
                                               session_cache_policy cache);

} // namespace motorhead
