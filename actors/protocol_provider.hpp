// The interfaces of the actors that call the model provider: summarizers
// (the pool and its workers) and the embedder. Include actors/protocol.hpp,
// not this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/protocol_common.hpp"
#include "core/memory_types.hpp"
#include "provider/http_call.hpp"

namespace motorhead {

// -- interfaces ---------------------------------------------------------------

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

/// A summarizer worker that calls the model provider. Its calls run on the
/// transport's thread; their results come back as messages, numbered so
/// that a late answer to an abandoned attempt is recognised and ignored.
using provider_worker_actor = summarizer_actor::extend<
  caf::reacts_to<provider_reply_atom, uint64_t, http_result>,
  caf::reacts_to<provider_retry_atom, uint64_t>>;

// -- inspection ---------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fold_job& x) {
  optional_string_field previous{x.previous_summary};
  return f(caf::meta::type_name("fold_job"), x.session_id, previous, x.lines,
           x.time_limit_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fold_result& x) {
  return f(caf::meta::type_name("fold_result"), x.summary, x.tokens_used);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, embedding_result& x) {
  return f(caf::meta::type_name("embedding_result"), x.vectors, x.model,
           x.tokens_used);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_result& x) {
  return f(caf::meta::type_name("http_result"), x.status, x.body,
           x.retry_after, x.transport_error);
}

} // namespace motorhead
