#include "actors/session_actor.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/query_embedding.hpp"
#include "actors/shared_behavior.hpp"
#include "core/json_codec.hpp"
#include "core/log.hpp"
#include "core/random_id.hpp"
#include "core/unix_time.hpp"

namespace motorhead {

namespace {

void apply_snapshot(session_state& st, session_snapshot snapshot) {
  st.messages.clear();
  st.messages.reserve(snapshot.messages.size());
  for (const auto& msg : snapshot.messages)
    st.messages.emplace_back(msg);
  st.context = std::move(snapshot.context);
  st.tokens = snapshot.tokens;
  st.next_seq = std::max(st.next_seq, snapshot.next_seq);
  st.namespaces = std::move(snapshot.namespaces);
  st.epoch = snapshot.epoch;
  st.unembedded = snapshot.unembedded;
  st.summary_generation = snapshot.summary_generation;
  st.index.reset(); // read again from Redis on first need
  ++st.incarnation;
  st.loaded = true;
}

/// Whether memory should take in a write sent during `incarnation`: not
/// when a load happened since (the snapshot has it) or is due.
bool is_current(const session_state& st, uint64_t incarnation) {
  return st.loaded && st.incarnation == incarnation;
}

bool embeds(const session_state& st) {
  return embeds(*st.setup);
}

/// The next delay of a retry: the first, then twice the last, capped.
std::chrono::milliseconds next_retry_delay(std::chrono::milliseconds last,
                                           const session_limits& limits) {
  return last.count() == 0 ? limits.first_retry_delay
                           : std::min(last * 2, limits.max_retry_delay);
}

bool is_fenced(const caf::error& err) {
  return is_service_error(err, service_errc::fenced);
}

/// Whether Redis refused a write and says that nothing changed, with
/// memory still equal to it: a retried POST, or one whose ids conflict.
bool left_unchanged(const caf::error& err) {
  return is_service_error(err, service_errc::already_stored)
         || is_service_error(err, service_errc::id_conflict)
         || is_service_error(err, service_errc::touched);
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
  delay = next_retry_delay(delay, st.limits());
  log_warn("session", std::string{name} + " failed ("
                        + self->system().render(why) + "), retrying",
           {text_field("session", st.id),
            number_field("retry_ms", uint64_t(delay.count()))});
  self->delayed_send(self, delay, what);
}

void schedule_fold_retry(session_pointer self, const caf::error& why) {
  schedule_retry(self, self->state.retry_delay, fold_atom::value, "fold", why);
}

/// A write failed without an answer that says what Redis did (a timeout,
/// a lost connection, an error reply, a fold refused as stale): memory may
/// now differ from Redis, the store of record. The session reloads before
/// it serves or writes again. Writes still in flight were sent before that
/// load's read, so the snapshot has their effect.
void resync(session_pointer self, const caf::error& why) {
  auto& st = self->state;
  if (!st.loaded)
    return;
  st.loaded = false;
  st.retry_delay = next_retry_delay(st.retry_delay, st.limits());
  log_warn("session",
           "a write failed (" + self->system().render(why)
             + "), reloading it from Redis",
           {text_field("session", st.id)});
  // The fold retry reloads the session even if no request comes.
  self->delayed_send(self, st.retry_delay, fold_atom::value);
}

/// Sends a write of this session to the store, counting it in flight. On
/// success `applied(current)` runs, `current` saying whether memory should
/// take the write in (see is_current). On failure a fenced session stops
/// (another node owns it) and any other failure makes the session reload;
/// `failed(err)` runs after that decision. `replaces_summary`: the write sets the summary
/// (a context, a DELETE), so no fold may start or commit meanwhile.
template <class Applied, class Failed, class... Ts>
void write(session_pointer self, bool replaces_summary, Applied applied,
           Failed failed, Ts... xs) {
  auto& st = self->state;
  auto incarnation = st.incarnation;
  ++st.writes_in_flight;
  if (replaces_summary)
    ++st.summary_writes_in_flight;
  auto done = [self, replaces_summary] {
    auto& st = self->state;
    --st.writes_in_flight;
    if (replaces_summary)
      --st.summary_writes_in_flight;
  };
  self->request(st.peers().store, caf::infinite, std::move(xs)...)
    .then(
      [=](ok_atom) mutable {
        done();
        applied(is_current(self->state, incarnation));
        stop_if_retired(self);
      },
      [=](caf::error& err) mutable {
        done();
        if (is_fenced(err)) {
          failed(err);
          log_info("session", "a newer owner holds it, stopping",
                   {text_field("session", self->state.id)});
          self->quit(err);
          return;
        }
        if (is_current(self->state, incarnation) && !left_unchanged(err))
          resync(self, err);
        failed(err);
        stop_if_retired(self);
      });
}

/// What a fold was computed from: it may commit only onto the same.
struct fold_basis {
  uint64_t incarnation = 0;
  uint64_t summary_generation = 0;
  std::vector<uint64_t> seqs; // the messages folded, oldest first
};

bool fold_still_applies(const session_state& st, const fold_basis& basis) {
  return is_current(st, basis.incarnation)
         && st.summary_generation == basis.summary_generation
         && st.summary_writes_in_flight == 0;
}

/// Memory after a fold that Redis applied: the same messages go, the
/// summary moves on (an empty one keeps the context as it was).
void apply_fold(session_state& st, const store::fold_change& change) {
  auto folded = st.messages.begin();
  for (auto seq : change.seqs)
    if (folded != st.messages.end() && folded->seq() == seq)
      ++folded;
  st.messages.erase(st.messages.begin(), folded);
  if (!change.summary.empty())
    st.context = change.summary;
  st.tokens += change.tokens_used;
}

void commit_fold(session_pointer self, fold_basis basis, fold_result result) {
  auto& st = self->state;
  store::fold_change change{std::move(basis.seqs), basis.summary_generation,
                            std::move(result.summary), result.tokens_used,
                            st.epoch};
  write(
    self, false,
    [=](bool current) {
      auto& st = self->state;
      st.folding = false;
      st.retry_delay = std::chrono::milliseconds{0};
      if (current)
        apply_fold(st, change);
      start_fold_if_due(self);
    },
    [=](const caf::error&) {
      // After a reload (no resync then) the next fold starts from the new
      // snapshot; otherwise the resync's retry reloads first.
      self->state.folding = false;
      start_fold_if_due(self);
    },
    fold_atom::value, st.id, change);
}

void start_fold_if_due(session_pointer self) {
  auto& st = self->state;
  // A summary write in flight would leave this fold's base behind; its
  // acknowledgement starts the fold.
  if (st.folding || !st.loaded || st.retiring
      || st.summary_writes_in_flight > 0)
    return;
  auto lines = messages_to_fold(st);
  if (lines.empty())
    return;
  st.folding = true;
  fold_basis basis{st.incarnation, st.summary_generation, {}};
  for (const auto& line : lines)
    basis.seqs.push_back(line.seq);
  fold_job job{st.id, st.context, std::move(lines),
               static_cast<uint64_t>(st.limits().summarizer_timeout.count())};
  self->request(st.peers().summarizer, st.limits().summarizer_timeout,
                summarize_atom::value, std::move(job))
    .then(
      [=](fold_result& result) mutable {
        if (!fold_still_applies(self->state, basis)) {
          // The summary was replaced or the session reloaded meanwhile:
          // fold again from what the session holds now.
          self->state.folding = false;
          start_fold_if_due(self);
          stop_if_retired(self);
          return;
        }
        commit_fold(self, std::move(basis), std::move(result));
      },
      [=](caf::error& err) {
        self->state.folding = false;
        schedule_fold_retry(self, err);
        stop_if_retired(self);
      });
}

/// Folds when due; first reloads a session whose memory is out of date.
void resume_folding(session_pointer self) {
  auto& st = self->state;
  if (st.loaded) {
    start_fold_if_due(self);
    return;
  }
  if (st.retiring)
    return;
  with_loaded_state(
    self, [] {}, [=](caf::error& err) { schedule_fold_retry(self, err); });
}

template <class Fn, class Fail>
void with_loaded_state(session_pointer self, Fn fn, Fail fail) {
  auto& st = self->state;
  if (st.loaded) {
    fn();
    return;
  }
  self->request(st.peers().store, caf::infinite, load_atom::value, st.id)
    .await(
      [=](session_snapshot& snapshot) mutable {
        metrics::global().session_loads.add();
        apply_snapshot(self->state, std::move(snapshot));
        fn();
        start_fold_if_due(self);
        start_embedding_if_due(self);
      },
      [=](caf::error& err) mutable { fail(err); });
}

/// Nothing was posted to the session since it was created or deleted: a
/// key scoped to other namespaces may take it.
bool holds_nothing(const session_state& st) {
  return st.namespaces.empty() && st.messages.empty() && !st.context;
}

/// with_loaded_state for a request sent with a key of `scope`: the session
/// answers only when the key reaches one of its namespaces, or when it
/// holds nothing; else `fail` gets a `forbidden` error.
template <class Fn, class Fail>
void with_reachable_state(session_pointer self, access_scope scope, Fn fn,
                          Fail fail) {
  with_loaded_state(
    self,
    [=]() mutable {
      auto& st = self->state;
      if (scope.reaches(st.namespaces) || holds_nothing(st)) {
        fn();
        return;
      }
      auto err = make_error(service_errc::forbidden,
                            "this API key may not reach session " + st.id);
      fail(err);
    },
    fail);
}

/// Gives a posted message what the client may leave out: an id (a UUID),
/// its time (now), and its count of tokens, which only the server makes.
void complete_details(stored_message& msg, const bpe_tokenizer* tokenizer,
                      int64_t now) {
  auto& details = msg.details;
  if (details.id.empty())
    details.id = random_uuid();
  if (details.created_at == 0)
    details.created_at = now;
  details.token_count = tokenizer == nullptr
                          ? 0
                          : static_cast<uint32_t>(tokenizer->count(msg.content));
}

/// The change a POST makes, its messages numbered. The session's namespaces
/// grow as the POST is sent, not when it is acknowledged: the writes of a
/// session reach Redis in the order they are sent, and each writes the
/// namespace list as of its sending.
store::append_change make_append_change(session_state& st,
                                        append_request& request) {
  store::append_change change;
  auto now = unix_time_ms();
  for (auto& msg : request.messages) {
    change.messages.push_back(stored_message{st.next_seq++, std::move(msg.role),
                                             std::move(msg.content),
                                             std::move(msg.details)});
    complete_details(change.messages.back(), st.setup->tokenizer.get(), now);
  }
  change.next_seq = st.next_seq;
  change.epoch = st.epoch;
  change.archive = st.limits().long_term_memory;
  change.embed = embeds(st);
  change.context = std::move(request.context);
  if (request.ns)
    add_namespace(st.namespaces, *request.ns);
  change.namespaces = st.namespaces;
  return change;
}

void apply_append(session_state& st, const store::append_change& change) {
  for (const auto& msg : change.messages) {
    if (st.index)
      st.index->add(msg);
    st.messages.emplace_back(msg);
  }
  if (change.embed)
    st.unembedded += change.messages.size();
  if (change.context) {
    st.context = change.context;
    ++st.summary_generation;
  }
}

caf::result<ok_atom> append(session_pointer self, append_request request,
                            access_scope scope) {
  auto rp = self->make_response_promise<ok_atom>();
  with_reachable_state(
    self, std::move(scope),
    [=]() mutable {
      auto& st = self->state;
      // Shared with the reply's handler rather than copied into it: a
      // change carries every message with its details.
      auto change = std::make_shared<const store::append_change>(
        make_append_change(st, request));
      auto replaces_summary = change->context.has_value();
      write(
        self, replaces_summary,
        [=](bool current) mutable {
          if (current)
            apply_append(self->state, *change);
          rp.deliver(ok_atom::value);
          start_fold_if_due(self);
          start_embedding_if_due(self);
        },
        [=](const caf::error& err) mutable {
          // A retry of a POST that was stored: its answer is the same.
          if (is_service_error(err, service_errc::already_stored))
            rp.deliver(ok_atom::value);
          else
            rp.deliver(err);
        },
        append_atom::value, st.id, *change);
    },
    [=](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

// -- session metadata -------------------------------------------------------------

/// Answers with the session as Redis holds it: read after every write the
/// session sent before, which the store runs first.
void answer_info(session_pointer self,
                 caf::typed_response_promise<session_info> rp) {
  auto& st = self->state;
  self->request(st.peers().store, caf::infinite, info_atom::value, st.id)
    .then(
      [=](session_info& info) mutable {
        if (info.exists)
          rp.deliver(std::move(info));
        else
          rp.deliver(make_error(service_errc::not_found,
                                "no session " + self->state.id));
      },
      [=](caf::error& err) mutable { rp.deliver(err); });
}

/// The metadata after `patch`, or why it cannot be applied.
outcome<std::string> patched_metadata(const session_state& st,
                                      const std::string& current,
                                      const session_patch& patch) {
  auto merged = json::merge_metadata(current, patch.metadata);
  if (merged && merged.value->size() > st.limits().max_metadata_bytes)
    return outcome<std::string>::failure(
      "the session's metadata would be " + std::to_string(merged.value->size())
      + " bytes of JSON; at most "
      + std::to_string(st.limits().max_metadata_bytes) + " are kept");
  return merged;
}

/// Applies a PATCH: reads the metadata, merges the patch into it and writes
/// the result as a POST without messages would (the session is touched,
/// and created if it was not). The read is awaited, so that the next PATCH
/// reads what this one writes.
void patch_session(session_pointer self, session_patch patch,
                   caf::typed_response_promise<session_info> rp) {
  auto& st = self->state;
  self->request(st.peers().store, caf::infinite, info_atom::value, st.id)
    .await(
      [=](session_info& info) mutable {
        auto& st = self->state;
        auto merged = patched_metadata(st, info.metadata, patch);
        if (!merged) {
          rp.deliver(make_error(service_errc::invalid_request, merged.error));
          return;
        }
        append_request touch;
        touch.ns = patch.ns;
        auto change = make_append_change(st, touch);
        change.session_metadata = std::move(*merged.value);
        write(
          self, false, [=](bool) mutable { answer_info(self, rp); },
          [=](const caf::error& err) mutable { rp.deliver(err); },
          append_atom::value, st.id, std::move(change));
      },
      [=](caf::error& err) mutable { rp.deliver(err); });
}

caf::result<session_info> describe(session_pointer self, session_patch patch,
                                   access_scope scope) {
  auto rp = self->make_response_promise<session_info>();
  with_reachable_state(
    self, std::move(scope),
    [=]() mutable {
      if (patch.changes)
        patch_session(self, std::move(patch), rp);
      else
        answer_info(self, rp);
    },
    [=](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

/// Memory after a DELETE that Redis applied.
void apply_erase(session_state& st) {
  st.messages.clear();
  st.context.reset();
  st.tokens = 0;
  st.unembedded = 0;
  ++st.summary_generation;
  if (st.index)
    st.index = std::make_shared<retrieval_index>();
}

caf::result<ok_atom> erase(session_pointer self, erase_request request,
                           access_scope scope) {
  auto rp = self->make_response_promise<ok_atom>();
  with_reachable_state(
    self, std::move(scope),
    [=]() mutable {
      auto& st = self->state;
      auto own = st.namespaces;
      for (const auto& ns : request.namespaces)
        add_namespace(st.namespaces, ns);
      request.namespaces = std::move(st.namespaces);
      // The session leaves its namespaces as the DELETE is sent: a POST
      // sent after it must neither write them back nor lose its own. (A
      // conditional delete refused puts them back: Redis kept them.)
      st.namespaces.clear();
      write(
        self, true,
        [=](bool current) mutable {
          auto& st = self->state;
          if (current)
            apply_erase(st);
          // No claim is left in Redis: the next request claims anew.
          if (request.leave_nothing)
            st.loaded = false;
          rp.deliver(ok_atom::value);
        },
        [=](const caf::error& err) mutable {
          auto& st = self->state;
          if (is_service_error(err, service_errc::touched))
            for (const auto& ns : own)
              add_namespace(st.namespaces, ns);
          rp.deliver(err);
        },
        erase_atom::value, st.id, request, st.epoch);
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
  self->request(self->state.peers().store, caf::infinite, archive_atom::value,
                self->state.id)
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

std::vector<retrieval_hit> answer_hits(const retrieval_index& index,
                                       const std::vector<search_hit>& hits) {
  std::vector<retrieval_hit> answer;
  for (const auto& hit : hits)
    answer.push_back(hit_of(index.message(hit.seq), hit.dist, {}));
  return answer;
}

/// Runs `fn(index)` once the session is loaded, reachable with `scope`,
/// and its long-term memory is in memory.
template <class Fn, class Fail>
void with_searchable_index(session_pointer self, access_scope scope, Fn fn,
                           Fail fail) {
  with_reachable_state(
    self, std::move(scope),
    [=]() mutable {
      with_index(
        self, [=]() mutable { fn(self->state.index); }, fail);
    },
    fail);
}

/// Searches the session's own messages: BM25, fused with cosine similarity
/// when the query can be embedded; BM25 alone when it cannot. The search
/// runs on the index the query started with, even if a DELETE or a reload
/// replaces it while the query is being embedded.
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

bool embeds(const session_setup& setup) {
  return setup.limits.long_term_memory && setup.peers.embedder;
}

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

std::vector<stored_message> messages_to_fold(const session_state& st) {
  if (st.messages.size() <= st.limits().max_window)
    return {};
  auto keep = st.limits().max_window / 2;
  auto count = st.messages.size() - keep;
  std::vector<stored_message> lines;
  lines.reserve(count);
  std::transform(st.messages.begin(), st.messages.begin() + count,
                 std::back_inserter(lines),
                 [](const packed_message& msg) { return msg.unpack(); });
  return lines;
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
