#include "actors/session_actor.hpp"

#include <algorithm>

#include <caf/all.hpp>

namespace motorhead {

namespace {

chat_message to_chat_message(const stored_message& msg) {
  return {msg.role, msg.content};
}

void apply_snapshot(session_state& st, session_snapshot snapshot) {
  st.messages.assign(std::make_move_iterator(snapshot.messages.begin()),
                     std::make_move_iterator(snapshot.messages.end()));
  st.context = std::move(snapshot.context);
  st.tokens = snapshot.tokens;
  st.next_seq = std::max(st.next_seq, snapshot.next_seq);
  st.namespaces = std::move(snapshot.namespaces);
  st.epoch = snapshot.epoch;
  st.unembedded = snapshot.unembedded;
  st.loaded = true;
}

bool embeds(const session_state& st) {
  return st.limits.long_term_memory && st.peers.embedder;
}

/// The next delay of a retry: the first, then twice the last, capped.
std::chrono::milliseconds next_retry_delay(std::chrono::milliseconds last,
                                           const session_limits& limits) {
  return last.count() == 0 ? limits.first_retry_delay
                           : std::min(last * 2, limits.max_retry_delay);
}

bool is_fenced(const caf::error& err) {
  return err.category() == service_error_category()
         && err.code() == static_cast<uint8_t>(service_errc::fenced);
}

/// A refused write means another actor, probably on another node, owns the
/// session now: this one must not serve it any longer.
void stop_if_fenced(session_pointer self, const caf::error& err) {
  if (is_fenced(err)) {
    caf::aout(self) << "session " << self->state.id
                    << ": a newer owner holds it, stopping\n";
    self->quit(err);
  }
}

void add_namespace(std::vector<std::string>& namespaces,
                   const std::string& ns) {
  if (std::find(namespaces.begin(), namespaces.end(), ns) == namespaces.end())
    namespaces.push_back(ns);
}

/// Runs `fn` once the session's state is loaded from Redis, or hands the
/// load error to `fail`. While loading, the session awaits the answer, so
/// requests that arrive meanwhile wait in the mailbox, in order.
template <class Fn, class Fail>
void with_loaded_state(session_pointer self, Fn fn, Fail fail);

void start_fold_if_due(session_pointer self);

bool is_quiescent(const session_state& st) {
  return st.writes_in_flight == 0 && !st.folding && !st.embedding;
}

void start_embedding_if_due(session_pointer self);

/// A retiring session stops as soon as its last write or fold completes, so
/// that what it started lands before the new owner reads the session.
void stop_if_retired(session_pointer self) {
  if (self->state.retiring && is_quiescent(self->state))
    self->quit();
}

/// Logs a failed fold or embedding and asks the session to try again
/// later: 1 s after the first failure, then twice as long each time.
template <class Atom>
void schedule_retry(session_pointer self, std::chrono::milliseconds& delay,
                    Atom what, const char* name, const caf::error& why) {
  auto& st = self->state;
  delay = next_retry_delay(delay, st.limits);
  caf::aout(self) << "session " << st.id << ": " << name << " failed ("
                  << self->system().render(why) << "), retrying in "
                  << delay.count() << " ms\n";
  self->delayed_send(self, delay, what);
}

void schedule_fold_retry(session_pointer self, const caf::error& why) {
  schedule_retry(self, self->state.retry_delay, fold_atom::value, "fold", why);
}

void commit_fold(session_pointer self, uint64_t covered_through,
                 fold_result result) {
  auto& st = self->state;
  store::fold_change change{covered_through, result.summary,
                            result.tokens_used, st.epoch};
  ++st.writes_in_flight;
  self->request(st.peers.store, st.limits.store_timeout, fold_atom::value,
                st.id, change)
    .then(
      [=](ok_atom) {
        auto& st = self->state;
        --st.writes_in_flight;
        while (!st.messages.empty()
               && st.messages.front().seq <= covered_through)
          st.messages.pop_front();
        st.context = result.summary;
        st.tokens += result.tokens_used;
        st.folding = false;
        st.retry_delay = std::chrono::milliseconds{0};
        start_fold_if_due(self);
        stop_if_retired(self);
      },
      [=](caf::error& err) {
        --self->state.writes_in_flight;
        self->state.folding = false;
        stop_if_fenced(self, err);
        schedule_fold_retry(self, err);
        stop_if_retired(self);
      });
}

void start_fold_if_due(session_pointer self) {
  auto& st = self->state;
  if (st.folding || !st.loaded || st.retiring)
    return;
  auto lines = messages_to_fold(st);
  if (lines.empty())
    return;
  st.folding = true;
  auto covered_through = lines.back().seq;
  auto generation = st.summary_generation;
  fold_job job{st.id, st.context, std::move(lines)};
  self->request(st.peers.summarizer, st.limits.summarizer_timeout,
                summarize_atom::value, std::move(job))
    .then(
      [=](fold_result& result) {
        if (generation != self->state.summary_generation) {
          // The summary was replaced meanwhile: fold again from the new one.
          self->state.folding = false;
          start_fold_if_due(self);
          stop_if_retired(self);
          return;
        }
        commit_fold(self, covered_through, std::move(result));
      },
      [=](caf::error& err) {
        self->state.folding = false;
        schedule_fold_retry(self, err);
        stop_if_retired(self);
      });
}

template <class Fn, class Fail>
void with_loaded_state(session_pointer self, Fn fn, Fail fail) {
  auto& st = self->state;
  if (st.loaded) {
    fn();
    return;
  }
  self->request(st.peers.store, st.limits.store_timeout, load_atom::value,
                st.id)
    .await(
      [=](session_snapshot& snapshot) mutable {
        apply_snapshot(self->state, std::move(snapshot));
        fn();
        start_fold_if_due(self);
        start_embedding_if_due(self);
      },
      [=](caf::error& err) mutable { fail(err); });
}

caf::result<ok_atom> append(session_pointer self, append_request request) {
  auto rp = self->make_response_promise<ok_atom>();
  with_loaded_state(
    self,
    [=]() mutable {
      auto& st = self->state;
      store::append_change change;
      for (auto& msg : request.messages)
        change.messages.push_back(
          stored_message{st.next_seq++, std::move(msg.role),
                         std::move(msg.content)});
      change.next_seq = st.next_seq;
      change.epoch = st.epoch;
      change.archive = st.limits.long_term_memory;
      change.embed = embeds(st);
      change.context = request.context;
      if (request.context)
        ++st.summary_generation;
      // Namespaces grow before the write is acknowledged, so that two
      // appends in flight never write each other's namespace list away.
      if (request.ns)
        add_namespace(st.namespaces, *request.ns);
      change.namespaces = st.namespaces;
      ++st.writes_in_flight;
      self->request(st.peers.store, st.limits.store_timeout,
                    append_atom::value, st.id, change)
        .then(
          [=](ok_atom) mutable {
            auto& st = self->state;
            --st.writes_in_flight;
            for (auto& msg : change.messages) {
              if (st.index)
                st.index->add(msg);
              st.messages.push_back(std::move(msg));
            }
            if (change.embed)
              st.unembedded += change.messages.size();
            if (change.context)
              st.context = change.context;
            rp.deliver(ok_atom::value);
            start_fold_if_due(self);
            start_embedding_if_due(self);
            stop_if_retired(self);
          },
          [=](caf::error& err) mutable {
            --self->state.writes_in_flight;
            rp.deliver(err);
            stop_if_fenced(self, err);
            stop_if_retired(self);
          });
    },
    [=](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

caf::result<ok_atom> erase(session_pointer self,
                           std::vector<std::string> extra_namespaces) {
  auto rp = self->make_response_promise<ok_atom>();
  with_loaded_state(
    self,
    [=]() mutable {
      auto& st = self->state;
      auto namespaces = st.namespaces;
      for (const auto& ns : extra_namespaces)
        add_namespace(namespaces, ns);
      ++st.summary_generation; // a fold under way must not resurrect it
      ++st.writes_in_flight;
      self->request(st.peers.store, st.limits.store_timeout,
                    erase_atom::value, st.id, namespaces, st.epoch)
        .then(
          [=](ok_atom) mutable {
            auto& st = self->state;
            --st.writes_in_flight;
            st.messages.clear();
            st.context.reset();
            st.tokens = 0;
            st.namespaces.clear();
            st.unembedded = 0;
            if (st.index)
              st.index = std::make_shared<retrieval_index>();
            rp.deliver(ok_atom::value);
            stop_if_retired(self);
          },
          [=](caf::error& err) mutable {
            --self->state.writes_in_flight;
            rp.deliver(err);
            stop_if_fenced(self, err);
            stop_if_retired(self);
          });
    },
    [=](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

// -- long-term memory -----------------------------------------------------------

/// Runs `fn` once the session's long-term memory is in memory: its archive
/// and vectors, read from Redis on first need. Awaits, like the load.
template <class Fn, class Fail>
void with_index(session_pointer self, Fn fn, Fail fail) {
  if (self->state.index) {
    fn();
    return;
  }
  self->request(self->state.peers.store, self->state.limits.store_timeout,
                archive_atom::value, self->state.id)
    .await(
      [=](session_archive& archive) mutable {
        auto index = std::make_shared<retrieval_index>();
        for (const auto& msg : archive.messages)
          index->add(msg);
        for (auto& v : archive.vectors)
          index->set_vector(v.seq, std::move(v.values));
        self->state.index = std::move(index);
        fn();
      },
      [=](caf::error& err) mutable { fail(err); });
}

void schedule_embedding_retry(session_pointer self, const caf::error& why) {
  schedule_retry(self, self->state.embed_retry_delay, embed_atom::value,
                 "embedding", why);
}

/// Stores the vectors of a batch; then embeds the next batch, if any.
void store_vectors(session_pointer self, std::vector<uint64_t> seqs,
                   embedding_result result) {
  auto& st = self->state;
  store::vector_batch batch{st.epoch, result.model, {}};
  for (std::size_t i = 0; i < seqs.size(); ++i)
    batch.vectors.push_back({seqs[i], std::move(result.vectors[i])});
  // An append in flight may already have marked new messages in Redis (and
  // listed the session as pending): only without one may the session leave
  // that list, or a crash now would leave those marks unswept.
  auto all_embedded = st.index->unembedded().size() == seqs.size()
                      && st.writes_in_flight == 0;
  self->request(st.peers.store, st.limits.store_timeout, vectors_atom::value,
                st.id, batch, all_embedded)
    .then(
      [=](ok_atom) {
        auto& st = self->state;
        for (const auto& v : batch.vectors)
          st.index->set_vector(v.seq, v.values);
        st.unembedded = st.index->unembedded().size();
        st.embedding = false;
        st.embed_retry_delay = std::chrono::milliseconds{0};
        start_embedding_if_due(self);
        stop_if_retired(self);
      },
      [=](caf::error& err) {
        self->state.embedding = false;
        stop_if_fenced(self, err);
        schedule_embedding_retry(self, err);
        stop_if_retired(self);
      });
}

/// Embeds the oldest messages still without a vector, one batch at a time.
void embed_next_batch(session_pointer self) {
  auto& st = self->state;
  auto seqs = st.index->unembedded();
  if (seqs.empty()) {
    st.unembedded = 0;
    st.embedding = false;
    return;
  }
  if (seqs.size() > st.limits.embedding_batch)
    seqs.resize(st.limits.embedding_batch);
  std::vector<std::string> texts;
  for (auto seq : seqs)
    texts.push_back(st.index->message(seq).content);
  self->request(st.peers.embedder, st.limits.embedder_timeout, embed_atom::value,
                std::move(texts))
    .then(
      [=](embedding_result& result) {
        store_vectors(self, seqs, std::move(result));
      },
      [=](caf::error& err) {
        self->state.embedding = false;
        schedule_embedding_retry(self, err);
        stop_if_retired(self);
      });
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

std::vector<retrieval_hit> answer_hits(const session_state& st,
                                       const std::vector<search_hit>& hits) {
  std::vector<retrieval_hit> answer;
  for (const auto& hit : hits) {
    const auto& msg = st.index->message(hit.seq);
    answer.push_back({msg.role, msg.content, hit.dist});
  }
  return answer;
}

/// Searches the session's own messages: BM25, fused with cosine similarity
/// when the query can be embedded; BM25 alone when it cannot.
caf::result<std::vector<retrieval_hit>> retrieve(session_pointer self,
                                                 retrieval_query query) {
  auto rp = self->make_response_promise<std::vector<retrieval_hit>>();
  auto fail = [=](caf::error& err) mutable { rp.deliver(err); };
  with_loaded_state(
    self,
    [=]() mutable {
      with_index(
        self,
        [=]() mutable {
          auto& st = self->state;
          if (!embeds(st)) {
            rp.deliver(answer_hits(st, st.index->search(query.text, {}, query.top_k)));
            return;
          }
          self->request(st.peers.embedder, st.limits.embedder_timeout,
                        embed_atom::value, std::vector<std::string>{query.text})
            .then(
              [=](embedding_result& result) mutable {
                auto& st = self->state;
                rp.deliver(answer_hits(
                  st, st.index->search(query.text, result.vectors.at(0),
                                       query.top_k)));
              },
              [=](caf::error&) mutable {
                auto& st = self->state;
                rp.deliver(answer_hits(
                  st, st.index->search(query.text, {}, query.top_k)));
              });
        },
        fail);
    },
    fail);
  return rp;
}

void schedule_idle_check(session_pointer self, caf::timespan delay) {
  self->delayed_send(self, delay, idle_atom::value);
}

/// Counts a request from the registry and notes when it came.
void note_request(session_pointer self) {
  ++self->state.handled;
  self->state.last_request = self->clock().now();
}

/// Stops the session once it has had no request for the idle time and has
/// nothing in flight. The registry must agree: it does when it has handed
/// the session no request the session has not seen. While the session
/// awaits that answer it handles nothing else, so nothing slips in between.
/// (A delayed message rather than after(): that one re-arms on every
/// message and fires periodically.)
void check_idle(session_pointer self) {
  auto& st = self->state;
  auto idle_for = self->clock().now() - st.last_request;
  if (idle_for < st.limits.idle) {
    schedule_idle_check(self, st.limits.idle - idle_for);
    return;
  }
  if (!is_quiescent(st)) {
    schedule_idle_check(self, st.limits.idle);
    return;
  }
  self->request(st.peers.registry, caf::infinite, idle_atom::value, st.id,
                st.handled)
    .await([=](bool may_stop) {
      if (may_stop)
        self->quit();
      else
        schedule_idle_check(self, self->state.limits.idle);
    });
}

} // namespace

memory_view make_memory_view(const session_state& st) {
  memory_view view;
  auto count = std::min(st.messages.size(), st.limits.max_window);
  view.messages.reserve(count);
  std::transform(st.messages.rbegin(), st.messages.rbegin() + count,
                 std::back_inserter(view.messages), to_chat_message);
  view.context = st.context;
  view.tokens = st.tokens;
  return view;
}

std::vector<stored_message> messages_to_fold(const session_state& st) {
  if (st.messages.size() <= st.limits.max_window)
    return {};
  auto keep = st.limits.max_window / 2;
  auto count = st.messages.size() - keep;
  return {st.messages.begin(), st.messages.begin() + count};
}

session_actor::behavior_type session(session_pointer self, std::string id,
                                     session_limits limits,
                                     session_peers peers) {
  self->state.id = std::move(id);
  self->state.limits = limits;
  self->state.peers = std::move(peers);
  self->state.last_request = self->clock().now();
  schedule_idle_check(self, limits.idle);
  return {
    [=](memory_get_atom) -> caf::result<memory_view> {
      note_request(self);
      auto rp = self->make_response_promise<memory_view>();
      with_loaded_state(
        self, [=]() mutable { rp.deliver(make_memory_view(self->state)); },
        [=](caf::error& err) mutable { rp.deliver(err); });
      return rp;
    },
    [=](memory_append_atom, append_request& request) -> caf::result<ok_atom> {
      note_request(self);
      return append(self, std::move(request));
    },
    [=](memory_delete_atom,
        std::vector<std::string>& namespaces) -> caf::result<ok_atom> {
      note_request(self);
      return erase(self, std::move(namespaces));
    },
    [=](fold_atom) { start_fold_if_due(self); },
    [=](retrieve_atom, retrieval_query& query)
      -> caf::result<std::vector<retrieval_hit>> {
      note_request(self);
      return retrieve(self, std::move(query));
    },
    [=](embed_atom) { start_embedding_if_due(self); },
    [=](idle_atom) { check_idle(self); },
    [=](retire_atom) {
      self->state.retiring = true;
      stop_if_retired(self);
    },
  };
}

} // namespace motorhead
