#include "actors/namespace_search.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include <caf/all.hpp>

#include "actors/query_embedding.hpp"
#include "core/retrieval_index.hpp"

namespace motorhead {

namespace {

using hit_list = std::vector<retrieval_hit>;
using search_promise = caf::typed_response_promise<hit_list>;
using search_pointer = search_actor::pointer;

/// The hits in the order of the picks they were made from: nearest first.
hit_list in_order_of(const std::vector<ranked_message>& picks, hit_list found) {
  std::map<std::pair<std::string, uint64_t>, std::size_t> rank;
  for (std::size_t i = 0; i < picks.size(); ++i)
    rank[{picks[i].session_id, picks[i].seq}] = i;
  std::sort(found.begin(), found.end(),
            [&](const retrieval_hit& a, const retrieval_hit& b) {
              return rank[{a.session_id, a.seq}] < rank[{b.session_id, b.seq}];
            });
  return found;
}

/// Answers the search and stops: the actor serves one search only.
template <class Answer>
void finish(search_pointer self, search_promise rp, Answer answer) {
  rp.deliver(std::move(answer));
  self->quit();
}

/// The time the requester still waits, as of now: the query carries it to
/// every step, and the step's request gives up with it.
caf::duration stamp_time_left(search_pointer self, retrieval_query& query,
                              caf::actor_clock::time_point deadline) {
  auto now = self->clock().now();
  query.time_left_ms = ms_until(deadline, now);
  return timeout_until(deadline, now);
}

/// The last two steps: the candidates of every session under the
/// namespace's statistics, fused here, then the hits of those picked.
void rank_and_fetch(search_pointer self, router_actor router,
                    std::vector<std::string> sessions,
                    candidate_request request, access_scope scope,
                    caf::actor_clock::time_point deadline, search_promise rp) {
  auto top_k = request.query.top_k;
  bool hybrid = !request.query_vector.empty();
  auto fail = [=](caf::error& err) { finish(self, rp, err); };
  auto timeout = stamp_time_left(self, request.query, deadline);
  self->request(router, timeout, candidates_atom::value,
                std::move(sessions), std::move(request), scope)
    .then(
      [=](search_candidates& candidates) {
        auto picks = fuse(std::move(candidates), top_k, hybrid);
        if (picks.empty()) {
          finish(self, rp, hit_list{});
          return;
        }
        self->request(router, timeout_until(deadline, self->clock().now()),
                      fetch_atom::value, picks, scope)
          .then(
            [=](hit_list& found) {
              finish(self, rp, in_order_of(picks, std::move(found)));
            },
            fail);
      },
      fail);
}

/// The first step: the statistics of the query's terms over the namespace.
/// The query's text is embedded here, once; the sessions get its terms.
void search_sessions(search_pointer self, router_actor router,
                     std::shared_ptr<const session_setup> setup,
                     std::vector<std::string> sessions, retrieval_query query,
                     access_scope scope, caf::actor_clock::time_point deadline,
                     search_promise rp) {
  auto text = std::move(query.text);
  query.text.clear();
  with_query_vector(self, *setup, std::move(text), [=](std::vector<float> vector) mutable {
    auto timeout = stamp_time_left(self, query, deadline);
    self->request(router, timeout, stats_atom::value, sessions, query, scope)
      .then(
        [=](corpus_stats& stats) {
          rank_and_fetch(self, router, sessions,
                         candidate_request{query, vector, std::move(stats)},
                         scope, deadline, rp);
        },
        [=](caf::error& err) { finish(self, rp, err); });
  });
}

} // namespace

search_actor::behavior_type
namespace_search(search_pointer self, router_actor router,
                 std::shared_ptr<const session_setup> setup) {
  return {
    [=](retrieve_atom, namespace_query& request, access_scope& scope) {
      auto rp = self->make_response_promise<hit_list>();
      auto deadline = deadline_of(request.query, self->clock().now());
      self->request(setup->peers.store, caf::infinite, namespace_atom::value,
                    request.ns)
        .then(
          [=](std::vector<std::string>& sessions) {
            if (sessions.empty()) {
              finish(self, rp, hit_list{});
              return;
            }
            search_sessions(self, router, setup, std::move(sessions),
                            request.query, scope, deadline, rp);
          },
          [=](caf::error& err) { finish(self, rp, err); });
      return rp;
    },
  };
}

} // namespace motorhead
