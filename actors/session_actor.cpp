// The session actor's behavior: a handler per message of session_actor, and
// the work behind them. The session's other files (actors/session_*.cpp)
// share its internals through actors/session_state.hpp.
#include "actors/session_actor.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/query_embedding.hpp"
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

// -- long-term memory ---------------------------------------------------------

namespace {

void schedule_embedding_retry(session_pointer self, const caf::error& why) {
  schedule_retry(self, self->state.embed_retry_delay, embed_atom::value,
                 "embedding", why);
}

/// Stores the vectors of a batch; then embeds the next batch, if any.
/// `index` is the one the batch came from: a DELETE or a reload since
/// replaced it, and the batch is then dropped.
void store_vectors(session_pointer self,
                   std::shared_ptr<retrieval_index> index,
                   std::vector<uint64_t> seqs, embedding_result result) {
  auto& st = self->state;
  if (st.index != index) {
    st.embedding = false;
    start_embedding_if_due(self);
    stop_if_retired(self);
    return;
  }
  store::vector_batch batch{st.epoch, result.model, {}};
  for (std::size_t i = 0; i < seqs.size(); ++i)
    batch.vectors.push_back({seqs[i], std::move(result.vectors[i])});
  // An append in flight may already have marked new messages in Redis (and
  // listed the session as pending): only without one may the session leave
  // that list, or a crash now would leave those marks unswept.
  auto all_embedded = index->unembedded().size() == seqs.size()
                      && st.writes_in_flight == 0;
  write(
    self, false,
    [=](bool) {
      auto& st = self->state;
      for (const auto& v : batch.vectors)
        index->set_vector(v.seq, v.values);
      if (st.index == index)
        st.unembedded = index->unembedded().size();
      st.embedding = false;
      st.embed_retry_delay = std::chrono::milliseconds{0};
      start_embedding_if_due(self);
    },
    [=](const caf::error& err) {
      self->state.embedding = false;
      if (!is_fenced(err))
        schedule_embedding_retry(self, err);
    },
    vectors_atom::value, st.id, batch, all_embedded);
}

/// Embeds the oldest messages still without a vector, one batch at a time.
void embed_next_batch(session_pointer self) {
  auto& st = self->state;
  auto index = st.index;
  auto seqs = index->unembedded();
  if (seqs.empty()) {
    st.unembedded = 0;
    st.embedding = false;
    return;
  }
  if (seqs.size() > st.limits().embedding_batch)
    seqs.resize(st.limits().embedding_batch);
  std::vector<std::string> texts;
  for (auto seq : seqs)
    texts.push_back(index->message(seq).content);
  self->request(st.peers().embedder, st.limits().embedder_timeout,
                embed_atom::value, std::move(texts))
    .then(
      [=](embedding_result& result) {
        store_vectors(self, index, seqs, std::move(result));
      },
      [=](caf::error& err) {
        self->state.embedding = false;
        schedule_embedding_retry(self, err);
        stop_if_retired(self);
      });
}

std::vector<retrieval_hit> answer_hits(const retrieval_index& index,
                                       const std::vector<search_hit>& hits) {
  std::vector<retrieval_hit> answer;
  for (const auto& hit : hits)
    answer.push_back(hit_of(index.message(hit.seq), hit.dist, {}));
  return answer;
}

} // namespace

bool embeds(const session_setup& setup) {
  return setup.limits.long_term_memory && setup.peers.embedder;
}

void start_embedding_if_due(session_pointer self) {
  auto& st = self->state;
  if (!embeds(st) || !st.loaded || st.embedding || st.retiring
      || st.unembedded == 0)
    return;
  st.embedding = true;
  with_index(
    self, [=] { embed_next_batch(self); },
    [=](caf::error& err) {
      self->state.embedding = false;
      schedule_embedding_retry(self, err);
    });
}

retrieval_hit hit_of(const stored_message& msg, double dist,
                     std::string session_id) {
  return {msg.role, msg.content, dist, msg.details, std::move(session_id),
          msg.seq};
}

caf::result<std::vector<retrieval_hit>> retrieve(session_pointer self,
                                                 retrieval_query query,
                                                 access_scope scope) {
  auto rp = self->make_response_promise<std::vector<retrieval_hit>>();
  auto fail = [=](caf::error& err) mutable { rp.deliver(err); };
  auto search = [=](const retrieval_index& index,
                    const std::vector<float>& query_vector) mutable {
    rp.deliver(answer_hits(index, index.search(query.text, query_vector,
                                               query.top_k, query.filter)));
  };
  with_searchable_index(
    self, std::move(scope),
    [=](std::shared_ptr<retrieval_index> index) mutable {
      with_query_vector(self, *self->state.setup, query.text,
                        [=](std::vector<float> vector) mutable {
                          search(*index, vector);
                        });
    },
    fail);
  return rp;
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
