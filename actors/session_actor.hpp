// A session actor owns one session's window, summary, token count and
// namespaces. It is the only writer of that session's keys.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/protocol.hpp"
#include "core/metrics.hpp"
#include "core/optional_text.hpp"
#include "core/packed_message.hpp"
#include "core/serving_lease.hpp"
#include "core/retrieval_index.hpp"
#include "core/tokenizer.hpp"

namespace motorhead {

struct session_limits {
  std::size_t max_window = 12;
  /// The largest metadata of a session, as JSON, after a PATCH.
  std::size_t max_metadata_bytes = 4096;
  std::chrono::milliseconds summarizer_timeout{std::chrono::minutes{5}};
  std::chrono::milliseconds first_retry_delay{1000};
  std::chrono::milliseconds max_retry_delay{60000};
  /// Long-term memory: keep every message for retrieval.
  bool long_term_memory = false;
  /// Sessions the original Motorhead wrote are read: one it listed under
  /// a namespace joins it when a key scoped to that namespace asks.
  bool original_layout = false;
  std::size_t embedding_batch = 100;
  std::chrono::milliseconds embedder_timeout{std::chrono::minutes{5}};
};

struct session_peers {
  persistence_actor store;
  summarizer_actor summarizer;
  embedder_actor embedder; // none: long-term memory is lexical only
};

/// What every session of a registry shares, in one copy for them all.
struct session_setup {
  session_limits limits;
  session_peers peers;
  /// Counts the tokens of posted messages; none: they count 0.
  std::shared_ptr<const bpe_tokenizer> tokenizer;
  /// The node's lease to serve from memory, checked on every request;
  /// none: every session is served (a registry on its own, in tests).
  std::shared_ptr<const serving_lease> lease;
};

struct session_state {
  std::string id;
  std::shared_ptr<const session_setup> setup;
  const session_limits& limits() const { return setup->limits; }
  const session_peers& peers() const { return setup->peers; }

  /// False until the first load, and again after a write whose outcome is
  /// unknown: the next request (or fold retry) reloads from Redis.
  bool loaded = false;
  bool folding = false;   // a fold is with the summarizer
  bool embedding = false; // a batch is with the embedder
  /// The registry retired the session (another node owns it, or the cache
  /// stops it): stop once nothing is in flight.
  bool retiring = false;
  bool has_metadata = false; // its own, set by a PATCH

  // Counters of 32 bits, next to the flags: the state packs into fewer
  // bytes, and every live session carries it.
  uint32_t writes_in_flight = 0;
  /// Reads whose answer a request waits for (a session's record, a query's
  /// embedding): the session is not idle while any is in flight.
  uint32_t reads_in_flight = 0;
  uint32_t erases_in_flight = 0; // DELETEs sent, not yet acknowledged
  /// Writes in flight that replace the summary (a context, a DELETE); no
  /// fold starts or commits while there are any.
  uint32_t summary_writes_in_flight = 0;
  /// Acknowledged by Redis, oldest first. A vector: a window is short, and
  /// an empty deque would cost more than half a kilobyte per session.
  std::vector<packed_message> messages;
  /// The summary: one pointer, since most live sessions have none yet.
  optional_text context;
  uint64_t tokens = 0;
  uint64_t next_seq = 1;
  /// The namespaces Redis acknowledged the session under: a key scoped to
  /// one of them reaches it.
  std::vector<std::string> namespaces;
  /// The namespaces that writes in flight would add, one entry per write:
  /// each joins `namespaces` when Redis acknowledges that its write stored
  /// something.
  std::vector<std::string> namespace_claims;
  /// The fencing token claimed at load; every write carries it.
  uint64_t epoch = 0;
  /// The newest view of the membership in which this node owned the
  /// session throughout since it was loaded (see serving_lease).
  uint64_t lease_version = 0;

  /// Redis' summary generation as of the last acknowledged write: it moves
  /// on when a context is posted or the session deleted, and a fold commits
  /// only onto the generation it was computed from.
  uint64_t summary_generation = 0;
  /// Loads applied so far. The state above mirrors Redis, write by write in
  /// the order they were sent, within one load; a write sent before the
  /// latest load is already in that snapshot and changes no memory.
  uint64_t incarnation = 0;
  std::chrono::milliseconds retry_delay{0};
  /// Long-term memory, loaded from Redis on first need; null until then.
  std::shared_ptr<retrieval_index> index;
  uint64_t unembedded = 0; // messages waiting for a vector
  std::chrono::milliseconds embed_retry_delay{0};

  /// Counts this actor in motorhead_sessions_live while it exists.
  metrics::gauge_hold live{metrics::global().live_sessions};

  static inline const char* name = "session";
};

using session_pointer = session_actor::stateful_pointer<session_state>;

session_actor::behavior_type
session(session_pointer self, std::string id,
        std::shared_ptr<const session_setup> setup);

/// Whether long-term memory embeds messages and queries: it has an
/// embedder.
bool embeds(const session_setup& setup);

/// The answer to GET: the newest `max_window` messages, newest first, with
/// the summary and the token count, as JSON.
encoded_memory encode_memory(const session_state& state);

/// Messages a fold should cover now: the oldest ones, leaving half a window.
/// Empty when the session is within its window.
std::vector<stored_message> messages_to_fold(const session_state& state);

} // namespace motorhead
