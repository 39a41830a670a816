// The interface of persistence, the one way to Redis, and the inspection of
// what it reads and writes. Include actors/protocol.hpp, not this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/protocol_common.hpp"
#include "core/memory_types.hpp"
#include "storage/membership_table.hpp"
#include "storage/session_store.hpp"

namespace motorhead {

// -- interfaces ---------------------------------------------------------------

/// Owner of the Redis connection. Commands that arrive while a round trip
/// is under way go out together in the next one (group commit). Every
/// request is answered within two round trips, each bounded by the Redis
/// timeout, so its clients wait without a timer of their own (in CAF 0.17
/// a request timeout stays on the actor clock until it expires).
using persistence_actor = caf::typed_actor<
  // Reads a session, claiming it if it exists (a read of an id that exists
  // nowhere stores nothing).
  caf::replies_to<load_atom, std::string>::with<session_snapshot>,
  // Reads and claims a session, whether it exists or not: before the first
  // write of one that did not.
  caf::replies_to<claim_atom, std::string>::with<session_snapshot>,
  // What GET /sessions/{id} shows, read without claiming the session.
  caf::replies_to<info_atom, std::string>::with<session_info>,
  // Every session listed under a namespace.
  caf::replies_to<namespace_atom, std::string>::with<std::vector<std::string>>,
  // The session joins those of the namespaces the original Motorhead
  // listed it under; answers all of its namespaces.
  caf::replies_to<adopt_atom, std::string,
                  std::vector<std::string>>::with<std::vector<std::string>>,
  // Up to n sessions (of each shard of the index) untouched since a time
  // (ms), oldest first.
  caf::replies_to<expire_atom, int64_t, uint32_t>::with<std::vector<std::string>>,
  caf::replies_to<append_atom, std::string, store::append_change>::with<ok_atom>,
  caf::replies_to<fold_atom, std::string, store::fold_change>::with<ok_atom>,
  // What to delete (every namespace to leave), and the writer's epoch.
  caf::replies_to<erase_atom, std::string, erase_request,
                  uint64_t>::with<ok_atom>,
  // A namespace's deletion is done: one write in the namespace's slot,
  // behind every deletion before it (leaving nothing), so that the answer
  // carries the writes' guarantee (with WAIT, the replicas have them all).
  caf::replies_to<forget_atom, std::string>::with<ok_atom>,
  caf::replies_to<list_atom, session_page>::with<session_listing>,
  caf::replies_to<ping_atom>::with<ok_atom>,
  // Long-term memory: every message and vector of a session; vectors to
  // store (and whether the session has none left to embed); the first n
  // sessions with messages waiting for embeddings.
  caf::replies_to<archive_atom, std::string>::with<session_archive>,
  caf::replies_to<vectors_atom, std::string, store::vector_batch,
                  bool>::with<ok_atom>,
  caf::replies_to<pending_atom, uint32_t>::with<std::vector<std::string>>,
  // The cluster-wide provider rate limit, a token bucket in Redis: requests
  // and tokens per minute, and the tokens of the call. Answers 0 when the
  // call may go (and takes it from the buckets), else how many ms to wait.
  caf::replies_to<rate_atom, uint64_t, uint64_t, uint64_t>::with<int64_t>,
  // The cluster's membership table: read (with the id of the member whose
  // lease to renew, or "", and the version it holds), changed if still at a
  // version, and a member's suspicion of another (suspect, suspecter, how
  // long a suspicion counts in ms) recorded if still at a version.
  caf::replies_to<members_atom, std::string,
                  uint64_t>::with<store::membership_table>,
  caf::replies_to<members_atom, uint64_t,
                  std::vector<store::member_row>>::with<
    store::membership_write_result>,
  caf::replies_to<suspect_atom, uint64_t, std::string, std::string,
                  int64_t>::with<store::membership_suspect_result>,
  // Sent by the persistence actor to itself: run the pending round trip.
  caf::reacts_to<flush_atom>>;

// -- inspection ---------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_snapshot& x) {
  optional_string_field context{x.context};
  return f(caf::meta::type_name("session_snapshot"), x.messages, context,
           x.tokens, x.next_seq, x.namespaces, x.epoch, x.unembedded,
           x.summary_generation, x.has_metadata);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, archived_vector& x) {
  return f(caf::meta::type_name("archived_vector"), x.seq, x.values);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_archive& x) {
  return f(caf::meta::type_name("session_archive"), x.messages, x.vectors,
           x.embedding_model);
}

} // namespace motorhead

namespace motorhead::store {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_change& x) {
  optional_string_field context{x.context};
  optional_string_field session_metadata{x.session_metadata};
  return f(caf::meta::type_name("append_change"), x.messages, context,
           x.namespaces, x.next_seq, x.epoch, x.archive, x.embed,
           x.client_ids, session_metadata);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, vector_batch& x) {
  return f(caf::meta::type_name("vector_batch"), x.epoch, x.model, x.vectors);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_row& x) {
  return f(caf::meta::type_name("member_row"), x.address, x.incarnation,
           x.status, x.changed_ms, x.joined, x.ended, x.renewals);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, membership_table& x) {
  return f(caf::meta::type_name("membership_table"), x.version, x.rows,
           x.known_since, x.renewed, x.redis_run_id);
}

template <class Inspector>
typename Inspector::result_type
inspect(Inspector& f, membership_write_result& x) {
  return f(caf::meta::type_name("membership_write_result"), x.written,
           x.version);
}

template <class Inspector>
typename Inspector::result_type
inspect(Inspector& f, membership_suspect_result& x) {
  return f(caf::meta::type_name("membership_suspect_result"), x.recorded,
           x.declared_dead, x.version);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fold_change& x) {
  return f(caf::meta::type_name("fold_change"), x.seqs, x.summary_generation,
           x.summary, x.tokens_used, x.epoch);
}

} // namespace motorhead::store
