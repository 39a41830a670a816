// The interfaces of sessions and of those who route to them: the session,
// the router the HTTP front talks to (and its view of the cluster), the
// registry and a namespace's search. Include actors/protocol.hpp, not this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/protocol_common.hpp"
#include "core/memory_types.hpp"

namespace motorhead {

// -- interfaces ---------------------------------------------------------------

/// A session: owns its window, summary, token count, namespaces and, with
/// long-term memory, its retrieval index.
/// Each request carries the scope of the key that sent it: a session
/// outside it answers `forbidden`.
using session_actor = caf::typed_actor<
  caf::replies_to<memory_get_atom, access_scope>::with<encoded_memory>,
  caf::replies_to<memory_append_atom, append_request,
                  access_scope>::with<ok_atom>,
  caf::replies_to<memory_delete_atom, erase_request,
                  access_scope>::with<ok_atom>,
  caf::replies_to<retrieve_atom, retrieval_query,
                  access_scope>::with<std::vector<retrieval_hit>>,
  // The session's metadata, after the patch (if it changes anything).
  caf::replies_to<info_atom, session_patch, access_scope>::with<session_info>,
  // The steps of a namespace's search (see core/retrieval_index.hpp): the
  // statistics of the query's terms, the candidates under the statistics
  // of the whole namespace, and the hits of the messages picked.
  caf::replies_to<stats_atom, retrieval_query, access_scope>::with<corpus_stats>,
  caf::replies_to<candidates_atom, candidate_request,
                  access_scope>::with<search_candidates>,
  caf::replies_to<fetch_atom, std::vector<ranked_message>,
                  access_scope>::with<std::vector<retrieval_hit>>,
  // Sent by the session to itself: embed messages that wait for it.
  caf::reacts_to<embed_atom>,
  // Sent by the session to itself: start a fold if one is due.
  caf::reacts_to<fold_atom>,
  // The registry asks whether the session may stop: true when it has
  // nothing in flight (a write, a fold, an embedding).
  caf::replies_to<idle_atom>::with<bool>,
  // Another node owns the session now: stop once nothing is in flight.
  caf::reacts_to<retire_atom>>;

/// What the HTTP front needs, by session id. Implemented by the session
/// registry; a cluster router can implement it too and forward elsewhere.
using router_actor = caf::typed_actor<
  caf::replies_to<memory_get_atom, std::string,
                  access_scope>::with<encoded_memory>,
  caf::replies_to<memory_append_atom, std::string, append_request,
                  access_scope>::with<ok_atom>,
  caf::replies_to<memory_delete_atom, std::string, erase_request,
                  access_scope>::with<ok_atom>,
  caf::replies_to<retrieve_atom, std::string, retrieval_query,
                  access_scope>::with<std::vector<retrieval_hit>>,
  caf::replies_to<info_atom, std::string, session_patch,
                  access_scope>::with<session_info>,
  // A namespace's search, and its steps over the sessions named, answered
  // for them all.
  caf::replies_to<retrieve_atom, namespace_query,
                  access_scope>::with<std::vector<retrieval_hit>>,
  // Deletes every session of a namespace, leaving nothing of them in
  // Redis; answers how many there were.
  caf::replies_to<forget_atom, std::string, access_scope>::with<uint64_t>,
  caf::replies_to<stats_atom, std::vector<std::string>, retrieval_query,
                  access_scope>::with<corpus_stats>,
  caf::replies_to<candidates_atom, std::vector<std::string>, candidate_request,
                  access_scope>::with<search_candidates>,
  caf::replies_to<fetch_atom, std::vector<ranked_message>,
                  access_scope>::with<std::vector<retrieval_hit>>,
  caf::replies_to<list_atom, session_page>::with<session_listing>,
  // Readiness: is the store reachable?
  caf::replies_to<ping_atom>::with<ok_atom>,
  // Membership, and the owner of a session ("" for none).
  caf::replies_to<cluster_atom, std::string>::with<cluster_view>>;

/// The registry: the router plus the session cache, and the retirement of
/// sessions whose owner is now another node.
/// The cache asks an idle or least recently used session whether it may
/// stop, and stops it only when the session has handled every request
/// delegated to it, so no request is lost to a stop.
using registry_actor = router_actor::extend<
  // Runs a namespace's search, its steps sent to the given router: the
  // registry itself, or the cluster node that splits them by owner.
  caf::replies_to<retrieve_atom, namespace_query, access_scope,
                  router_actor>::with<std::vector<retrieval_hit>>,
  // Deletes a namespace's sessions, each through the given router.
  caf::replies_to<forget_atom, std::string, access_scope,
                  router_actor>::with<uint64_t>,
  // To itself: ask the sessions idle for long enough to stop.
  caf::reacts_to<idle_atom>,
  // The members now alive, and this node's name: sessions owned elsewhere
  // are retired.
  caf::reacts_to<retire_atom, std::vector<std::string>, std::string>,
  // The same, answered once every retired session has stopped (its writes
  // landed): the sessions are released, their new owners may load them.
  caf::replies_to<release_atom, std::vector<std::string>,
                  std::string>::with<ok_atom>,
  // To itself: retire the next batch of those sessions.
  caf::reacts_to<retire_atom>>;

/// One namespace's search, which stops once it answered: it lists the
/// namespace's sessions, embeds the query, and takes its router through
/// the three steps of the search.
using search_actor = caf::typed_actor<
  caf::replies_to<retrieve_atom, namespace_query,
                  access_scope>::with<std::vector<retrieval_hit>>>;

// -- inspection ---------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, access_scope& x) {
  return f(caf::meta::type_name("access_scope"), x.restricted, x.namespaces,
           x.key);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_request& x) {
  optional_string_field context{x.context};
  optional_string_field ns{x.ns};
  return f(caf::meta::type_name("append_request"), x.messages, context, ns);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_info& x) {
  return f(caf::meta::type_name("session_info"), x.exists, x.metadata,
           x.created_at, x.updated_at, x.message_count, x.namespaces);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_patch& x) {
  optional_string_field ns{x.ns};
  return f(caf::meta::type_name("session_patch"), x.changes, x.metadata, ns);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, erase_request& x) {
  return f(caf::meta::type_name("erase_request"), x.namespaces,
           x.leave_nothing, x.untouched_since);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, encoded_memory& x) {
  return f(caf::meta::type_name("encoded_memory"), x.json);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_position& x) {
  return f(caf::meta::type_name("list_position"), x.time_ms, x.id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_page& x) {
  optional_string_field ns{x.ns};
  return f(caf::meta::type_name("session_page"), x.page, x.size, ns,
           x.by_cursor, x.after);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_listing& x) {
  return f(caf::meta::type_name("session_listing"), x.ids, x.next);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retrieval_filter& x) {
  return f(caf::meta::type_name("retrieval_filter"), x.roles, x.metadata,
           x.created_after, x.created_before);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retrieval_query& x) {
  return f(caf::meta::type_name("retrieval_query"), x.text, x.top_k, x.filter,
           x.terms, x.time_left_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retrieval_hit& x) {
  return f(caf::meta::type_name("retrieval_hit"), x.role, x.content, x.dist,
           x.details, x.session_id, x.seq);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, corpus_stats& x) {
  return f(caf::meta::type_name("corpus_stats"), x.documents, x.total_length,
           x.document_frequencies);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ranked_message& x) {
  return f(caf::meta::type_name("ranked_message"), x.session_id, x.seq,
           x.score);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, search_candidates& x) {
  return f(caf::meta::type_name("search_candidates"), x.lexical, x.semantic);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, candidate_request& x) {
  return f(caf::meta::type_name("candidate_request"), x.query, x.query_vector,
           x.stats);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, namespace_query& x) {
  return f(caf::meta::type_name("namespace_query"), x.ns, x.query);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_view& x) {
  return f(caf::meta::type_name("cluster_view"), x.node, x.incarnation,
           x.version, x.members, x.seeds, x.owner, x.waiting_for);
}

} // namespace motorhead
