// The session actor's behavior: a handler per message of session_actor, and
// the work behind them. The session's other files (actors/session_*.cpp)
// share its internals through actors/session_state.hpp.
#include "actors/session_actor.hpp"

#include <algorithm>
#include <iterator>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/session_state.hpp"
#include "actors/shared_behavior.hpp"
#include "core/retrieval_index.hpp"

namespace motorhead {

memory_view make_memory_view(const session_state& st) {
  memory_view view;
  auto count = std::min(st.messages.size(), st.limits().max_window);
  view.messages.reserve(count);
  std::transform(st.messages.rbegin(), st.messages.rbegin() + count,
                 std::back_inserter(view.messages),
                 [](const packed_message& msg) { return msg.to_chat_message(); });
  view.context = st.context;
  view.tokens = st.tokens;
  return view;
}

// -- namespace-search steps ---------------------------------------------------

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
  auto terms = query_terms(query.text);
  return search_step<corpus_stats>(
    self, std::move(scope),
    [terms](const retrieval_index& index) { return index.stats(terms); });
}

caf::result<search_candidates>
on_candidates(session_pointer self, candidates_atom,
              candidate_request& request, access_scope& scope) {
  return search_step<search_candidates>(
    self, std::move(scope),
    [request = std::move(request),
     id = self->state.id](const retrieval_index& index) {
      return index.candidates(id, query_terms(request.query.text),
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

namespace {

// The session's handlers, one per message of session_actor, in its order
// (see actors/shared_behavior.hpp).

caf::result<memory_view> on_get(session_pointer self, memory_get_atom,
                                access_scope& scope) {
  auto rp = self->make_response_promise<memory_view>();
  with_reachable_state(
    self, scope, [=]() mutable { rp.deliver(make_memory_view(self->state)); },
    [=](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

caf::result<ok_atom> on_append(session_pointer self, memory_append_atom,
                               append_request& request, access_scope& scope) {
  return append(self, std::move(request), std::move(scope));
}

caf::result<ok_atom> on_delete(session_pointer self, memory_delete_atom,
                               erase_request& request, access_scope& scope) {
  return erase(self, std::move(request), std::move(scope));
}

caf::result<std::vector<retrieval_hit>>
on_retrieve(session_pointer self, retrieve_atom, retrieval_query& query,
            access_scope& scope) {
  return retrieve(self, std::move(query), std::move(scope));
}

caf::result<session_info> on_info(session_pointer self, info_atom,
                                  session_patch& patch, access_scope& scope) {
  return describe(self, std::move(patch), std::move(scope));
}

void on_embed(session_pointer self, embed_atom) {
  start_embedding_if_due(self);
}

void on_fold(session_pointer self, fold_atom) {
  resume_folding(self);
}

bool on_idle(session_pointer self, idle_atom) {
  return is_quiescent(self->state);
}

void on_retire(session_pointer self, retire_atom) {
  self->state.retiring = true;
  stop_if_retired(self);
}

constexpr auto session_handlers = std::make_tuple(
  &on_get, &on_append, &on_delete, &on_retrieve, &on_info, &on_stats,
  &on_candidates, &on_fetch, &on_embed, &on_fold, &on_idle, &on_retire);

static_assert(
  std::is_same_v<shared_behavior::interface_of<decltype(session_handlers)>,
                 session_actor>,
  "the session's handlers must match session_actor, message by message");

caf::result<caf::message> handle_message(caf::scheduled_actor* self,
                                         caf::message_view& message) {
  return shared_behavior::dispatch(static_cast<session_pointer>(self),
                                   message, session_handlers);
}

} // namespace

session_actor::behavior_type
session(session_pointer self, std::string id,
        std::shared_ptr<const session_setup> setup) {
  self->state.id = std::move(id);
  self->state.setup = std::move(setup);
  self->set_default_handler(handle_message);
  return {session_actor::behavior_type::unsafe_init{},
          shared_behavior::empty()};
}

} // namespace motorhead
