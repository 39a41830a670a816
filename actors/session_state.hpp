// The session actor's internals, shared by its files (actors/session_*.cpp)
// and private to them: the templates every load and write goes through, and
// what each concept's file offers the others.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/protocol.hpp"
#include "actors/session_actor.hpp"
#include "core/log.hpp"
#include "core/memory_types.hpp"
#include "core/metrics.hpp"
#include "core/retrieval_index.hpp"

namespace motorhead {

// -- memory and Redis ---------------------------------------------------------

/// Memory as of a load: the snapshot replaces what the session held.
void apply_snapshot(session_state& st, session_snapshot snapshot);

/// Whether memory should take in a write sent during `incarnation`: not
/// when a load happened since (the snapshot has it) or is due.
inline bool is_current(const session_state& st, uint64_t incarnation) {
  return st.loaded && st.incarnation == incarnation;
}

/// Whether long-term memory embeds this session's messages.
inline bool embeds(const session_state& st) {
  return embeds(*st.setup);
}

/// Whether `err` says that the session has a newer owner.
bool is_fenced(const caf::error& err);

/// Whether Redis refused a write and says that nothing changed, with
/// memory still equal to it: a retried POST, or one whose ids conflict.
bool left_unchanged(const caf::error& err);

// -- in flight, retries, retirement -------------------------------------------

/// The next delay of a retry: the first, then twice the last, capped.
std::chrono::milliseconds next_retry_delay(std::chrono::milliseconds last,
                                           const session_limits& limits);

/// Nothing is in flight: no write, read, fold or embedding.
inline bool is_quiescent(const session_state& st) {
  return st.writes_in_flight == 0 && st.reads_in_flight == 0 && !st.folding
         && !st.embedding;
}

/// A retiring session stops as soon as its last write, read or fold
/// completes, so that what it started lands (and is answered) before the
/// new owner reads the session.
inline void stop_if_retired(session_pointer self) {
  if (self->state.retiring && is_quiescent(self->state))
    self->quit();
}

/// Logs that `what` failed for the session, once per burst of the same
/// failure across every session: while Redis is down they all fail alike,
/// and the outage itself is logged by the persistence actor.
void log_session_failure(const session_state& st, const std::string& what,
                         const caf::error& why,
                         std::chrono::milliseconds retry);

/// Logs a failed fold or embedding and asks the session to try again
/// later: 1 s after the first failure, then twice as long each time.
template <class Atom>
void schedule_retry(session_pointer self, std::chrono::milliseconds& delay,
                    Atom what, const char* name, const caf::error& why) {
  auto& st = self->state;
  delay = next_retry_delay(delay, st.limits());
  log_session_failure(st, std::string{name} + " failed", why, delay);
  self->delayed_send(self, delay, what);
}

/// A write failed without an answer that says what Redis did (a timeout,
/// a lost connection, an error reply, a fold refused as stale): memory may
/// now differ from Redis, the store of record. The session reloads before
/// it serves or writes again. Writes still in flight were sent before that
/// load's read, so the snapshot has their effect.
void resync(session_pointer self, const caf::error& why);

// -- loads and writes ---------------------------------------------------------

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

/// Starts a fold if one is due (see messages_to_fold) and none is under way.
void start_fold_if_due(session_pointer self);

/// Embeds the messages still without a vector, a batch at a time, if
/// long-term memory embeds them and no batch is under way.
void start_embedding_if_due(session_pointer self);

/// Runs `fn` once the session's state is read from Redis with `Atom`
/// (load_atom, claim_atom), or hands the error to `fail`. While reading,
/// the session awaits the answer, so requests that arrive meanwhile wait in
/// the mailbox, in order.
template <class Atom, class Fn, class Fail>
void read_state(session_pointer self, Fn fn, Fail fail) {
  auto& st = self->state;
  self->request(st.peers().store, caf::infinite, Atom::value, st.id)
    .await(
      [=](session_snapshot& snapshot) mutable {
        if constexpr (std::is_same_v<Atom, load_atom>)
          metrics::global().session_loads.add(); // a claim re-reads a load
        apply_snapshot(self->state, std::move(snapshot));
        fn();
        start_fold_if_due(self);
        start_embedding_if_due(self);
      },
      [=](caf::error& err) mutable { fail(err); });
}

/// Whether the node's lease lets this session answer now: from memory
/// when loaded (it stayed this node's in every view since), or after a
/// load (it is this node's in the lease's view). Checked when a request is
/// handled, not when it arrived: a node paused past its lease answers
/// nothing it queued meanwhile from memory.
inline bool leased(session_state& st) {
  const auto& lease = st.setup->lease;
  if (!lease)
    return true;
  if (st.loaded)
    return lease->covers(st.id, st.lease_version);
  auto version = lease->may_load(st.id);
  if (!version)
    return false;
  st.lease_version = *version;
  return true;
}

/// Runs `fn` once the session's state is loaded from Redis (see
/// read_state), while the node's lease covers the session (see leased);
/// else `fail` gets `moved` and the session stops: the next request finds
/// its owner anew. A session that exists nowhere is loaded without a
/// claim: a read stores nothing.
template <class Fn, class Fail>
void with_loaded_state(session_pointer self, Fn fn, Fail fail) {
  auto& st = self->state;
  if (!leased(st)) {
    auto err = make_error(service_errc::moved,
                          "this node's lease does not cover the session now");
    fail(err);
    st.retiring = true;
    stop_if_retired(self);
    return;
  }
  if (st.loaded) {
    fn();
    return;
  }
  read_state<load_atom>(self, std::move(fn), std::move(fail));
}

/// with_loaded_state for a write: a session loaded without a claim claims
/// it first, reading again what another node may have written since, so
/// that its write fences out every earlier owner and numbers its messages
/// after everything stored.
template <class Fn, class Fail>
void with_claimed_state(session_pointer self, Fn fn, Fail fail) {
  with_loaded_state(
    self,
    [=]() mutable {
      if (self->state.epoch != 0) {
        fn();
        return;
      }
      read_state<claim_atom>(self, fn, fail);
    },
    fail);
}

/// Nothing was stored in the session since it was created or deleted: no
/// message, context, metadata or namespace.
inline bool holds_nothing(const session_state& st) {
  return st.namespaces.empty() && st.messages.empty() && !st.context
         && !st.has_metadata;
}

/// Whether a key of `scope` reaches the session: through a namespace Redis
/// acknowledged it under, or when it holds nothing. While writes in flight
/// fill a session that holds nothing, only the namespaces they name may
/// join them: a POST racing another tenant's for a new session id cannot
/// slip in.
inline bool reaches(const session_state& st, const access_scope& scope) {
  if (scope.reaches(st.namespaces))
    return true;
  if (!holds_nothing(st))
    return false;
  return st.writes_in_flight == 0 || scope.reaches(st.namespace_claims);
}

/// Adds `ns` to `namespaces` unless it is there.
void add_namespace(std::vector<std::string>& namespaces, const std::string& ns);

/// Runs `fn` when a key of `scope` reaches the session (see reaches), after
/// asking Redis for the namespaces the original Motorhead listed it under
/// if it reads the original's layout; else `fail` gets a `forbidden`
/// error.
template <class Fn, class Fail>
void if_reachable(session_pointer self, const access_scope& scope, Fn& fn,
                  Fail& fail) {
  auto& st = self->state;
  if (reaches(st, scope)) {
    fn();
    return;
  }
  auto forbidden = [self, fail]() mutable {
    auto err = make_error(service_errc::forbidden,
                          "this API key may not reach session "
                            + self->state.id);
    fail(err);
  };
  if (!st.limits().original_layout || !scope.restricted) {
    forbidden();
    return;
  }
  // The original kept no list of a session's namespaces: the key's own
  // may list it in the original's indexes (or `motorhead migrate` may have
  // added them since the load).
  self->request(st.peers().store, caf::infinite, adopt_atom::value, st.id,
                scope.namespaces)
    .await(
      [=](std::vector<std::string>& names) mutable {
        for (const auto& ns : names)
          add_namespace(self->state.namespaces, ns);
        if (reaches(self->state, scope))
          fn();
        else
          forbidden();
      },
      [=](caf::error& err) mutable { fail(err); });
}

/// with_loaded_state for a request sent with a key of `scope`: the session
/// answers only when the key reaches it.
template <class Fn, class Fail>
void with_reachable_state(session_pointer self, access_scope scope, Fn fn,
                          Fail fail) {
  with_loaded_state(
    self, [=]() mutable { if_reachable(self, scope, fn, fail); }, fail);
}

/// with_reachable_state for a write: the session is claimed first (see
/// with_claimed_state) if the key reaches it as loaded, and checked again
/// as claimed, since a claim reads what another node wrote.
template <class Fn, class Fail>
void with_writable_state(session_pointer self, access_scope scope, Fn fn,
                         Fail fail) {
  with_reachable_state(
    self, scope,
    [=]() mutable {
      with_claimed_state(
        self, [=]() mutable { if_reachable(self, scope, fn, fail); }, fail);
    },
    fail);
}

/// The change a POST makes, its messages numbered. A namespace the
/// session is not under yet goes with it as one to join: Redis adds it to
/// the session's list only if the write stores something, and memory only
/// once Redis acknowledged that (see write_append).
store::append_change make_append_change(session_state& st,
                                        append_request& request);

/// Memory after an append that Redis applied: its messages, context,
/// metadata, and the namespace it joined.
void apply_append(session_state& st, const store::append_change& change);

/// Takes the claim of a write that named `ns` off the session's list.
void drop_claim(session_state& st, const std::optional<std::string>& ns);

/// Sends an append (a POST, or a PATCH's write) as write() does. The
/// namespace it would join is claimed while it is in flight (see reaches);
/// memory takes the append in once Redis acknowledged that it stored it,
/// then `applied()` runs. A retry or a refusal changes nothing:
/// `failed(err)` runs.
template <class Applied, class Failed>
void write_append(session_pointer self,
                  std::shared_ptr<const store::append_change> change,
                  Applied applied, Failed failed) {
  auto& st = self->state;
  if (change->added_namespace)
    st.namespace_claims.push_back(*change->added_namespace);
  write(
    self, change->context.has_value(),
    [=](bool current) mutable {
      auto& st = self->state;
      drop_claim(st, change->added_namespace);
      if (current)
        apply_append(st, *change);
      applied();
    },
    [=](const caf::error& err) mutable {
      drop_claim(self->state, change->added_namespace);
      failed(err);
    },
    append_atom::value, st.id, *change);
}

/// Asks the store for `xs` on behalf of a request that waits for the
/// answer, counting the read in flight (see is_quiescent): then
/// `answered(Answer&)` or `failed(err)` runs.
template <class Answer, class Answered, class Failed, class... Ts>
void read(session_pointer self, Answered answered, Failed failed, Ts... xs) {
  ++self->state.reads_in_flight;
  self->request(self->state.peers().store, caf::infinite, std::move(xs)...)
    .then(
      [=](Answer& answer) mutable {
        --self->state.reads_in_flight;
        answered(answer);
        stop_if_retired(self);
      },
      [=](caf::error& err) mutable {
        --self->state.reads_in_flight;
        failed(err);
        stop_if_retired(self);
      });
}

/// POST: stores the request's messages (and context), then answers; memory
/// takes them in once Redis has them.
caf::result<ok_atom> append(session_pointer self, append_request request,
                            access_scope scope);

/// DELETE: empties the session in Redis (or leaves nothing of it), then
/// answers; memory follows once Redis applied it.
caf::result<ok_atom> erase(session_pointer self, erase_request request,
                           access_scope scope);

// -- folding ------------------------------------------------------------------

/// Folds when due; first reloads a session whose memory is out of date.
void resume_folding(session_pointer self);

// -- the session record -------------------------------------------------------

/// The session's record as Redis holds it, after `patch` if it changes
/// anything (the metadata merged, the session touched).
caf::result<session_info> describe(session_pointer self, session_patch patch,
                                   access_scope scope);

// -- long-term memory ---------------------------------------------------------

/// Gives a message stored without its count of tokens (one moved from the
/// original Motorhead's keys) that count.
void count_tokens_once(stored_message& msg, const bpe_tokenizer* tokenizer);

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
        for (auto& msg : archive.messages) {
          count_tokens_once(msg, self->state.setup->tokenizer.get());
          index->add(msg);
        }
        for (auto& v : archive.vectors)
          index->set_vector(v.seq, std::move(v.values));
        self->state.index = std::move(index);
        fn();
      },
      [=](caf::error& err) mutable { fail(err); });
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

/// A hit of `msg` at distance (or score) `dist`, from session `session_id`
/// ("" within the session's own retrieval).
retrieval_hit hit_of(const stored_message& msg, double dist,
                     std::string session_id);

/// Searches the session's own messages: BM25, fused with cosine similarity
/// when the query can be embedded; BM25 alone when it cannot. The search
/// runs on the index the query started with, even if a DELETE or a reload
/// replaces it while the query is being embedded.
caf::result<std::vector<retrieval_hit>> retrieve(session_pointer self,
                                                 retrieval_query query,
                                                 access_scope scope);

// -- namespace-search steps ---------------------------------------------------

/// The steps of a namespace's search on this session's messages (see
/// session_actor in actors/protocol.hpp). First: the statistics of the
/// query's terms.
caf::result<corpus_stats> on_stats(session_pointer self, stats_atom,
                                   retrieval_query& query,
                                   access_scope& scope);

/// Second: the candidates, under the statistics of the whole namespace.
caf::result<search_candidates>
on_candidates(session_pointer self, candidates_atom,
              candidate_request& request, access_scope& scope);

/// Third: the hits of the messages picked, among those still here.
caf::result<std::vector<retrieval_hit>>
on_fetch(session_pointer self, fetch_atom, std::vector<ranked_message>& picks,
         access_scope& scope);

} // namespace motorhead
