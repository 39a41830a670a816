// The session's writes to Redis: the load's snapshot, POST (append), DELETE
// (erase), and the reload after a write whose outcome is unknown.
#include "actors/session_state.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "core/log.hpp"
#include "core/random_id.hpp"
#include "core/retrieval_index.hpp"
#include "core/tokenizer.hpp"
#include "core/unix_time.hpp"

namespace motorhead {

void add_namespace(std::vector<std::string>& namespaces,
                   const std::string& ns) {
  if (std::find(namespaces.begin(), namespaces.end(), ns) == namespaces.end())
    namespaces.push_back(ns);
}

namespace {

/// Gives a posted message what the client may leave out: an id (a UUID),
/// its time (now), and its count of tokens, which only the server makes.
void complete_details(stored_message& msg, const bpe_tokenizer* tokenizer,
                      int64_t now) {
  auto& details = msg.details;
  if (details.id.empty())
    details.id = random_uuid();
  if (details.created_at == 0)
    details.created_at = now;
  // The HTTP front counts long messages before they come (a count of
  // content is never 0).
  if (details.token_count == 0 && tokenizer != nullptr)
    details.token_count = static_cast<uint32_t>(tokenizer->count(msg.content));
}

} // namespace

void count_tokens_once(stored_message& msg, const bpe_tokenizer* tokenizer) {
  // A count of content is never 0: this message was never counted.
  if (msg.details.token_count == 0 && !msg.content.empty() && tokenizer)
    msg.details.token_count
      = static_cast<uint32_t>(tokenizer->count(msg.content));
}

namespace {

/// Memory after a DELETE that Redis applied.
void apply_erase(session_state& st) {
  st.messages.clear();
  st.context.reset();
  st.tokens = 0;
  st.unembedded = 0;
  st.has_metadata = false;
  st.namespaces.clear();
  ++st.summary_generation;
  if (st.index)
    st.index = std::make_shared<retrieval_index>();
}

} // namespace

// -- loads --------------------------------------------------------------------

void apply_snapshot(session_state& st, session_snapshot snapshot) {
  st.messages.clear();
  st.messages.reserve(snapshot.messages.size());
  for (auto& msg : snapshot.messages) {
    count_tokens_once(msg, st.setup->tokenizer.get());
    st.messages.emplace_back(msg);
  }
  st.context = std::move(snapshot.context);
  st.tokens = snapshot.tokens;
  st.next_seq = std::max(st.next_seq, snapshot.next_seq);
  st.namespaces = std::move(snapshot.namespaces);
  st.has_metadata = snapshot.has_metadata;
  st.epoch = snapshot.epoch;
  st.unembedded = snapshot.unembedded;
  st.summary_generation = snapshot.summary_generation;
  st.index.reset(); // read again from Redis on first need
  ++st.incarnation;
  st.loaded = true;
}

// -- failed writes ------------------------------------------------------------

std::chrono::milliseconds next_retry_delay(std::chrono::milliseconds last,
                                           const session_limits& limits) {
  return last.count() == 0 ? limits.first_retry_delay
                           : std::min(last * 2, limits.max_retry_delay);
}

bool is_fenced(const caf::error& err) {
  return is_service_error(err, service_errc::fenced);
}

bool left_unchanged(const caf::error& err) {
  return is_service_error(err, service_errc::already_stored)
         || is_service_error(err, service_errc::id_conflict)
         || is_service_error(err, service_errc::touched);
}

void log_session_failure(const session_state& st, const std::string& what,
                         const caf::error& why,
                         std::chrono::milliseconds retry) {
  static burst_filter failures;
  auto message = what + " (" + error_message(why) + "), retrying";
  auto verdict = failures.admit(message);
  if (verdict.log)
    log_warn("session", message,
             {text_field("session", st.id),
              number_field("retry_ms", uint64_t(retry.count())),
              number_field("not_logged_since", verdict.suppressed)});
}

void resync(session_pointer self, const caf::error& why) {
  auto& st = self->state;
  if (!st.loaded)
    return;
  st.loaded = false;
  st.retry_delay = next_retry_delay(st.retry_delay, st.limits());
  log_session_failure(st, "a write failed", why, st.retry_delay);
  // The fold retry reloads the session even if no request comes.
  self->delayed_send(self, st.retry_delay, fold_atom::value);
}

// -- POST ---------------------------------------------------------------------

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
  if (change.session_metadata)
    st.has_metadata = !change.session_metadata->empty();
  if (change.added_namespace)
    add_namespace(st.namespaces, *change.added_namespace);
}

void drop_claim(session_state& st, const std::optional<std::string>& ns) {
  if (!ns)
    return;
  auto& claims = st.namespace_claims;
  auto claim = std::find(claims.begin(), claims.end(), *ns);
  if (claim != claims.end())
    claims.erase(claim);
}

store::append_change make_append_change(session_state& st,
                                        append_request& request) {
  store::append_change change;
  auto now = unix_time_ms();
  for (auto& msg : request.messages) {
    change.client_ids = change.client_ids || !msg.details.id.empty();
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
  // Behind a DELETE in flight, Redis will have the session on no list when
  // this write lands: it lists it under its own namespace alone.
  if (st.erases_in_flight == 0)
    change.namespaces = st.namespaces;
  const auto& listed = change.namespaces;
  if (request.ns
      && std::find(listed.begin(), listed.end(), *request.ns) == listed.end())
    change.added_namespace = std::move(request.ns);
  return change;
}

caf::result<ok_atom> append(session_pointer self, append_request request,
                            access_scope scope) {
  auto rp = self->make_response_promise<ok_atom>();
  // The request, and the change made of it, are shared by the closures
  // that wait for the session and for Redis rather than copied into each:
  // they carry every message with its details.
  auto shared_request = std::make_shared<append_request>(std::move(request));
  with_writable_state(
    self, std::move(scope),
    [=]() mutable {
      auto& st = self->state;
      auto change = std::make_shared<const store::append_change>(
        make_append_change(st, *shared_request));
      write_append(
        self, std::move(change),
        [=]() mutable {
          rp.deliver(ok_atom::value);
          start_fold_if_due(self);
          start_embedding_if_due(self);
        },
        [=](const caf::error& err) mutable {
          // A retry of a POST that was stored: its answer is the same, and
          // Redis proved it as it would have proved the first.
          if (is_service_error(err, service_errc::already_stored))
            rp.deliver(ok_atom::value);
          else
            rp.deliver(err);
        });
    },
    [=](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

// -- DELETE -------------------------------------------------------------------

caf::result<ok_atom> erase(session_pointer self, erase_request request,
                           access_scope scope) {
  auto rp = self->make_response_promise<ok_atom>();
  with_writable_state(
    self, std::move(scope),
    [=]() mutable {
      auto& st = self->state;
      // The session leaves every list it is on, or that a write before the
      // DELETE may put it on. Its namespaces stay its own until Redis
      // acknowledges the DELETE; a POST sent after it joins only its own.
      for (auto* names : {&st.namespaces, &st.namespace_claims})
        for (const auto& ns : *names)
          add_namespace(request.namespaces, ns);
      ++st.erases_in_flight;
      write(
        self, true,
        [=](bool current) mutable {
          auto& st = self->state;
          --st.erases_in_flight;
          if (current)
            apply_erase(st);
          // No claim is left in Redis: the next request claims anew.
          if (request.leave_nothing)
            st.loaded = false;
          rp.deliver(ok_atom::value);
        },
        [=](const caf::error& err) mutable {
          --self->state.erases_in_flight;
          rp.deliver(err);
        },
        erase_atom::value, st.id, request, st.epoch);
    },
    [=](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

} // namespace motorhead
