// The session's long-term memory: every message kept in a retrieval index,
// embedded a batch at a time, and searched by the session's own retrieval.
#include "actors/session_state.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/query_embedding.hpp"
#include "core/retrieval_index.hpp"

namespace motorhead {

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
    rp.deliver(answer_hits(index, index.search(query.terms, query_vector,
                                               query.top_k, query.filter)));
  };
  with_searchable_index(
    self, std::move(scope),
    [=](std::shared_ptr<retrieval_index> index) mutable {
      // The session is not idle while its query is being embedded.
      ++self->state.reads_in_flight;
      with_query_vector(self, *self->state.setup, query.text,
                        [=](std::vector<float> vector) mutable {
                          --self->state.reads_in_flight;
                          search(*index, vector);
                          stop_if_retired(self);
                        });
    },
    fail);
  return rp;
}

} // namespace motorhead
