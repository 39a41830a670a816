// The session's folds: once the window outgrows itself, its oldest messages
// go to the summarizer, and the summary replaces them in Redis, then memory.
#include "actors/session_state.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <utility>
#include <vector>

#include <caf/all.hpp>

namespace motorhead {

namespace {

void schedule_fold_retry(session_pointer self, const caf::error& why) {
  schedule_retry(self, self->state.retry_delay, fold_atom::value, "fold", why);
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

} // namespace

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
  fold_job job{st.id, st.context.value(), std::move(lines),
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

} // namespace motorhead
