// The session's part in a namespace's search (actors/namespace_search.hpp):
// three steps, each answered from the session's retrieval index.
#include "actors/session_state.hpp"

#include <memory>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "core/retrieval_index.hpp"

namespace motorhead {

namespace {

/// One step of a namespace's search on this session's messages: answers
/// `step(index)`.
template <class T, class Step>
caf::result<T> search_step(session_pointer self, access_scope scope,
                           Step step) {
  auto rp = self->make_response_promise<T>();
  with_searchable_index(
    self, std::move(scope),
    [=](std::shared_ptr<retrieval_index> index) mutable {
      rp.deliver(step(*index));
    },
    [=](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

/// The hits of the messages picked among this session's (those still
/// there: a DELETE may have come between the steps).
std::vector<retrieval_hit> fetch_hits(const retrieval_index& index,
                                      const std::vector<ranked_message>& picks) {
  std::vector<retrieval_hit> hits;
  for (const auto& pick : picks)
    if (index.contains(pick.seq))
      hits.push_back(hit_of(index.message(pick.seq), pick.score,
                            pick.session_id));
  return hits;
}

} // namespace

caf::result<corpus_stats> on_stats(session_pointer self, stats_atom,
                                   retrieval_query& query,
                                   access_scope& scope) {
  return search_step<corpus_stats>(
    self, std::move(scope),
    [terms = std::move(query.terms)](const retrieval_index& index) {
      return index.stats(terms);
    });
}

caf::result<search_candidates>
on_candidates(session_pointer self, candidates_atom,
              candidate_request& request, access_scope& scope) {
  return search_step<search_candidates>(
    self, std::move(scope),
    [request = std::move(request),
     id = self->state.id](const retrieval_index& index) {
      return index.candidates(id, request.query.terms,
                              request.query_vector, request.stats,
                              request.query.filter, request.query.top_k);
    });
}

caf::result<std::vector<retrieval_hit>>
on_fetch(session_pointer self, fetch_atom, std::vector<ranked_message>& picks,
         access_scope& scope) {
  return search_step<std::vector<retrieval_hit>>(
    self, std::move(scope),
    [picks = std::move(picks)](const retrieval_index& index) {
      return fetch_hits(index, picks);
    });
}

} // namespace motorhead
