// The message protocol of the server, in one place: atoms, message types and
// the typed interfaces of every actor.
//
//   HTTP front ──router_actor──▶ cluster node or session registry
//   cluster node ──node_actor──▶ the owner's cluster node (another process)
//   session registry ──session_actor──▶ session
//   session ──persistence_actor──▶ persistence (Redis)
//   session ──summarizer_actor───▶ summarizer pool ──▶ summarizer workers
//   session ──embedder_actor─────▶ embedder (long-term memory)
//
// Each family of interfaces is in a header of its own, with the inspection of
// its payloads; this header includes them all and is the one to include:
//   actors/protocol_common.hpp       atoms, the messages every family carries
//   actors/protocol_sessions.hpp     session, router, registry, search
//   actors/protocol_persistence.hpp  persistence
//   actors/protocol_provider.hpp     summarizers, embedder
//   actors/protocol_cluster.hpp      node, cluster node
#pragma once

#include <cstdint>
#include <string>

#include <caf/actor_clock.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "actors/protocol_cluster.hpp"
#include "actors/protocol_common.hpp"
#include "actors/protocol_persistence.hpp"
#include "actors/protocol_provider.hpp"
#include "actors/protocol_sessions.hpp"
#include "core/memory_types.hpp"

namespace motorhead {

// -- errors -------------------------------------------------------------------

/// Errors of this service, carried as caf::error in category "motorhead".
enum class service_errc : uint8_t {
  storage_unavailable = 1, // Redis cannot be reached or refused a command
  overloaded,              // a bounded queue is full; try again later
  provider_failed,         // the model provider failed or refused a call
  fenced,                  // the session has a newer owner; this one stops
  internal,
  write_unknown, // Redis did not answer a write: it may or may not be applied
  stale,         // Redis no longer holds what a fold was computed from
  leaving,       // the node shuts down and left the cluster: nothing ran
  forbidden,     // the request's key may not reach the session
  /// Every message of a POST was stored already (a retry): nothing changed.
  already_stored,
  /// A POST repeats some stored message ids but not all: nothing changed.
  id_conflict,
  not_found,       // the session does not exist
  invalid_request, // the request cannot apply to what the session holds
  /// A delete of a session untouched since a time found it updated since:
  /// nothing changed.
  touched,
  /// The node is not a member of the cluster (yet): it serves no session.
  not_member,
  /// The member that owns the session cannot be reached from this node.
  owner_unreachable,
  /// A forwarded request reached a node that does not own its session in
  /// the newest view it read: nothing ran; the sender reads the table and
  /// routes it again.
  moved,
};

caf::atom_value service_error_category();

caf::error make_error(service_errc code, std::string text);

/// Whether `err` is this service's error `code`.
bool is_service_error(const caf::error& err, service_errc code);

/// The text a service error carries ("Redis is unreachable: ..."), for a
/// log line or an answer; "no answer in time" for a request that timed
/// out; CAF's own rendering for any other error.
std::string error_message(const caf::error& err);

/// When the requester of `job`, received at `now`, stops waiting for it;
/// the largest time point when it has no limit.
caf::actor_clock::time_point deadline_of(const fold_job& job,
                                         caf::actor_clock::time_point now);
caf::actor_clock::time_point deadline_of(const retrieval_query& query,
                                         caf::actor_clock::time_point now);

/// The time left until `deadline` as of `now`: as a request's timeout
/// (infinite for none), and as a query's `time_left_ms` (0 for none, at
/// least 1 while any is left).
caf::duration timeout_until(caf::actor_clock::time_point deadline,
                            caf::actor_clock::time_point now);
uint32_t ms_until(caf::actor_clock::time_point deadline,
                  caf::actor_clock::time_point now);

/// Registers every message type of this protocol; call on each actor system.
void add_protocol_types(caf::actor_system_config& cfg);

} // namespace motorhead
