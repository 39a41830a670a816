// The message protocol of the server, in one place: atoms, message types and
// the typed interfaces of every actor.
//
//   HTTP front ──router_actor──▶ cluster node or session registry
//   cluster node ──node_actor──▶ the owner's cluster node (another process)
//   session registry ──session_actor──▶ session
//   session ──persistence_actor──▶ persistence (Redis)
//   session ──summarizer_actor───▶ summarizer pool ──▶ summarizer workers
//   session ──embedder_actor─────▶ embedder (long-term memory)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "core/memory_types.hpp"
#include "provider/http_call.hpp"
#include "storage/session_store.hpp"

namespace motorhead {

// -- atoms ------------------------------------------------------------------

using memory_get_atom = caf::atom_constant<caf::atom("mem_get")>;
using memory_append_atom = caf::atom_constant<caf::atom("mem_append")>;
using memory_delete_atom = caf::atom_constant<caf::atom("mem_delete")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
using append_atom = caf::atom_constant<caf::atom("append")>;
using fold_atom = caf::atom_constant<caf::atom("fold")>;
using erase_atom = caf::atom_constant<caf::atom("erase")>;
using summarize_atom = caf::atom_constant<caf::atom("summarize")>;
using provider_reply_atom = caf::atom_constant<caf::atom("prov_reply")>;
using forward_atom = caf::atom_constant<caf::atom("forward")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using handoff_atom = caf::atom_constant<caf::atom("handoff")>;
using credits_atom = caf::atom_constant<caf::atom("credits")>;
using retire_atom = caf::atom_constant<caf::atom("retire")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using peer_up_atom = caf::atom_constant<caf::atom("peer_up")>;
using cluster_atom = caf::atom_constant<caf::atom("cluster")>;
using overflow_atom = caf::atom_constant<caf::atom("overflow")>;
using rate_atom = caf::atom_constant<caf::atom("rate")>;
using retrieve_atom = caf::atom_constant<caf::atom("retrieve")>;
using embed_atom = caf::atom_constant<caf::atom("embed")>;
using archive_atom = caf::atom_constant<caf::atom("archive")>;
using vectors_atom = caf::atom_constant<caf::atom("vectors")>;
using pending_atom = caf::atom_constant<caf::atom("pending")>;
using info_atom = caf::atom_constant<caf::atom("info")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using candidates_atom = caf::atom_constant<caf::atom("candidates")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using namespace_atom = caf::atom_constant<caf::atom("namespace")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using forget_atom = caf::atom_constant<caf::atom("forget")>;
using caf::connect_atom;
using caf::tick_atom;
using provider_retry_atom = caf::atom_constant<caf::atom("prov_retry")>;
using caf::flush_atom;
using caf::idle_atom;
using caf::ok_atom;
using caf::ping_atom;

// -- cluster views ------------------------------------------------------------

/// What GET /cluster shows: this node, the members it sees alive, the
/// configured peers and, when asked for one, a session's owner.
struct cluster_view {
  std::string node;
  std::vector<std::string> members;
  std::vector<std::string> configured;
  std::string owner;
};

// -- interfaces ---------------------------------------------------------------

/// A session: owns its window, summary, token count, namespaces and, with
/// long-term memory, its retrieval index.
/// Each request carries the scope of the key that sent it: a session
/// outside it answers `forbidden`.
using session_actor = caf::typed_actor<
  caf::replies_to<memory_get_atom, access_scope>::with<memory_view>,
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
  caf::replies_to<memory_get_atom, std::string, access_scope>::with<memory_view>,
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
  caf::replies_to<list_atom, session_page>::with<std::vector<std::string>>,
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
  // To itself: retire the next batch of those sessions.
  caf::reacts_to<retire_atom>>;

/// Owner of the Redis connection. Commands that arrive while a round trip
/// is under way go out together in the next one (group commit). Every
/// request is answered within two round trips, each bounded by the Redis
/// timeout, so its clients wait without a timer of their own (in CAF 0.17
/// a request timeout stays on the actor clock until it expires).
using persistence_actor = caf::typed_actor<
  caf::replies_to<load_atom, std::string>::with<session_snapshot>,
  // What GET /sessions/{id} shows, read without claiming the session.
  caf::replies_to<info_atom, std::string>::with<session_info>,
  // Every session listed under a namespace.
  caf::replies_to<namespace_atom, std::string>::with<std::vector<std::string>>,
  // Up to n sessions (of each shard of the index) untouched since a time
  // (ms), oldest first.
  caf::replies_to<expire_atom, int64_t, uint32_t>::with<std::vector<std::string>>,
  caf::replies_to<append_atom, std::string, store::append_change>::with<ok_atom>,
  caf::replies_to<fold_atom, std::string, store::fold_change>::with<ok_atom>,
  // What to delete (every namespace to leave), and the writer's epoch.
  caf::replies_to<erase_atom, std::string, erase_request,
                  uint64_t>::with<ok_atom>,
  caf::replies_to<list_atom, session_page>::with<std::vector<std::string>>,
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
  // Sent by the persistence actor to itself: run the pending round trip.
  caf::reacts_to<flush_atom>>;

/// One namespace's search, which stops once it answered: it lists the
/// namespace's sessions, embeds the query, and takes its router through
/// the three steps of the search.
using search_actor = caf::typed_actor<
  caf::replies_to<retrieve_atom, namespace_query,
                  access_scope>::with<std::vector<retrieval_hit>>>;

/// A summarizer: the pool and its workers share this interface.
using summarizer_actor = caf::typed_actor<
  caf::replies_to<summarize_atom, fold_job>::with<fold_result>>;

/// Embeds texts through the provider, with retries and bounded concurrency.
using embedder_actor = caf::typed_actor<
  caf::replies_to<embed_atom, std::vector<std::string>>::with<embedding_result>,
  caf::reacts_to<provider_reply_atom, uint64_t, http_result>,
  caf::reacts_to<provider_retry_atom, uint64_t>>;

/// The summarizer pool: the summarizer protocol, plus jobs handed over by
/// other nodes (never passed on again), its free capacity, and where to
/// send jobs when its own queue is full (the cluster).
using summarizer_pool_actor = summarizer_actor::extend<
  caf::replies_to<handoff_atom, fold_job>::with<fold_result>,
  caf::replies_to<credits_atom>::with<uint64_t>,
  caf::reacts_to<overflow_atom, summarizer_actor>>;

/// A node as its peers see it: published on the cluster port.
using node_actor = caf::typed_actor<
  // Requests from a peer that believes this node owns the session.
  caf::replies_to<forward_atom, memory_get_atom, std::string,
                  access_scope>::with<memory_view>,
  caf::replies_to<forward_atom, memory_append_atom, std::string,
                  append_request, access_scope>::with<ok_atom>,
  caf::replies_to<forward_atom, memory_delete_atom, std::string,
                  erase_request, access_scope>::with<ok_atom>,
  caf::replies_to<forward_atom, retrieve_atom, std::string, retrieval_query,
                  access_scope>::with<std::vector<retrieval_hit>>,
  caf::replies_to<forward_atom, info_atom, std::string, session_patch,
                  access_scope>::with<session_info>,
  // The steps of a namespace's search, for the sessions this node owns.
  caf::replies_to<forward_atom, stats_atom, std::vector<std::string>,
                  retrieval_query, access_scope>::with<corpus_stats>,
  caf::replies_to<forward_atom, candidates_atom, std::vector<std::string>,
                  candidate_request, access_scope>::with<search_candidates>,
  caf::replies_to<forward_atom, fetch_atom, std::vector<ranked_message>,
                  access_scope>::with<std::vector<retrieval_hit>>,
  // Heartbeat with the caller's name: answers this node's name and its free
  // summarizer capacity (credits).
  caf::replies_to<heartbeat_atom, std::string>::with<std::string, uint64_t>,
  // A fold job from a peer whose queue is full.
  caf::replies_to<handoff_atom, fold_job>::with<fold_result>,
  // A peer that shuts down leaves at once (its name): its sessions are the
  // survivors' now, and its process is not taken back while it lives.
  caf::replies_to<leave_atom, std::string>::with<ok_atom>>;

/// The cluster node: the router for the HTTP front, the node protocol for
/// peers, the overflow of the local summarizer pool, and membership events.
using cluster_actor = router_actor::extend_with<node_actor>::extend<
  caf::replies_to<summarize_atom, fold_job>::with<fold_result>,
  caf::reacts_to<peer_up_atom, std::string, node_actor>,
  caf::reacts_to<tick_atom>,
  // The node shuts down: every peer is told it leaves; answered once they
  // all acknowledged or failed to.
  caf::replies_to<leave_atom>::with<ok_atom>>;

/// A summarizer worker that calls the model provider. Its calls run on the
/// transport's thread; their results come back as messages, numbered so
/// that a late answer to an abandoned attempt is recognised and ignored.
using provider_worker_actor = summarizer_actor::extend<
  caf::reacts_to<provider_reply_atom, uint64_t, http_result>,
  caf::reacts_to<provider_retry_atom, uint64_t>>;

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
};

caf::atom_value service_error_category();

caf::error make_error(service_errc code, std::string text);

/// Whether `err` is this service's error `code`.
bool is_service_error(const caf::error& err, service_errc code);

/// When the requester of `job`, received at `now`, stops waiting for it;
/// the largest time point when it has no limit.
caf::actor_clock::time_point deadline_of(const fold_job& job,
                                         caf::actor_clock::time_point now);

/// Registers every message type of this protocol; call on each actor system.
void add_protocol_types(caf::actor_system_config& cfg);

// -- inspection ---------------------------------------------------------------

/// Lets CAF serialize a std::optional<std::string> (0.17 only knows its own).
struct optional_string_field {
  std::optional<std::string>& ref;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        optional_string_field& x) {
  bool present = x.ref.has_value();
  std::string text = x.ref.value_or("");
  auto store = caf::meta::load_callback([&]() -> caf::error {
    if (present)
      x.ref = text;
    else
      x.ref.reset();
    return caf::none;
  });
  return f(present, text, store);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, message_details& x) {
  return f(caf::meta::type_name("message_details"), x.id, x.created_at,
           x.metadata, x.token_count);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chat_message& x) {
  return f(caf::meta::type_name("chat_message"), x.role, x.content,
           x.details);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stored_message& x) {
  return f(caf::meta::type_name("stored_message"), x.seq, x.role, x.content,
           x.details);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, access_scope& x) {
  return f(caf::meta::type_name("access_scope"), x.restricted, x.namespaces);
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
typename Inspector::result_type inspect(Inspector& f, memory_view& x) {
  optional_string_field context{x.context};
  return f(caf::meta::type_name("memory_view"), x.messages, context, x.tokens);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_snapshot& x) {
  optional_string_field context{x.context};
  return f(caf::meta::type_name("session_snapshot"), x.messages, context,
           x.tokens, x.next_seq, x.namespaces, x.epoch, x.unembedded,
           x.summary_generation);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_page& x) {
  optional_string_field ns{x.ns};
  return f(caf::meta::type_name("session_page"), x.page, x.size, ns);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fold_job& x) {
  optional_string_field previous{x.previous_summary};
  return f(caf::meta::type_name("fold_job"), x.session_id, previous, x.lines,
           x.time_limit_ms);
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

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retrieval_filter& x) {
  return f(caf::meta::type_name("retrieval_filter"), x.roles, x.metadata,
           x.created_after, x.created_before);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retrieval_query& x) {
  return f(caf::meta::type_name("retrieval_query"), x.text, x.top_k, x.filter);
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
typename Inspector::result_type inspect(Inspector& f, embedding_result& x) {
  return f(caf::meta::type_name("embedding_result"), x.vectors, x.model,
           x.tokens_used);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_view& x) {
  return f(caf::meta::type_name("cluster_view"), x.node, x.members,
           x.configured, x.owner);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_result& x) {
  return f(caf::meta::type_name("http_result"), x.status, x.body,
           x.retry_after, x.transport_error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fold_result& x) {
  return f(caf::meta::type_name("fold_result"), x.summary, x.tokens_used);
}

} // namespace motorhead

namespace motorhead::store {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_change& x) {
  optional_string_field context{x.context};
  optional_string_field session_metadata{x.session_metadata};
  return f(caf::meta::type_name("append_change"), x.messages, context,
           x.namespaces, x.next_seq, x.epoch, x.archive, x.embed,
           session_metadata);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, vector_batch& x) {
  return f(caf::meta::type_name("vector_batch"), x.epoch, x.model, x.vectors);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fold_change& x) {
  return f(caf::meta::type_name("fold_change"), x.seqs, x.summary_generation,
           x.summary, x.tokens_used, x.epoch);
}

} // namespace motorhead::store
