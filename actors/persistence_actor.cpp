#include "actors/persistence_actor.hpp"

#include <caf/all.hpp>

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/unix_time.hpp"
#include "storage/shared_rate_limit.hpp"

namespace motorhead {

namespace {

/// Queues `commands` for the next round trip. The flush message goes to the
/// back of the mailbox, so every request already waiting there joins the
/// same pipeline: a batch is whatever arrived during the previous trip.
template <class Complete>
void enqueue(persistence_pointer self, store::command_list commands,
             bool writes, Complete complete) {
  auto& st = self->state;
  st.pending.push_back({std::move(commands), writes, std::move(complete)});
  if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, flush_atom::value);
  }
}

/// The error of a write whose replies say it was not applied, or none.
caf::error refusal(const std::vector<redis_reply>& replies) {
  if (store::is_fenced(replies))
    return make_error(service_errc::fenced, replies.front().text);
  if (store::is_stale(replies))
    return make_error(service_errc::stale, replies.front().text);
  if (auto err = store::first_error(replies); !err.empty())
    return make_error(service_errc::storage_unavailable, err);
  return {};
}

/// Queues commands whose replies only acknowledge, answering `rp` with ok.
template <class Promise>
void enqueue_write(persistence_pointer self, store::command_list commands,
                   Promise rp) {
  enqueue(self, std::move(commands), true,
          [rp](const outcome<std::vector<redis_reply>>& replies,
               bool maybe_applied) mutable {
            if (!replies)
              rp.deliver(make_error(maybe_applied
                                      ? service_errc::write_unknown
                                      : service_errc::storage_unavailable,
                                    replies.error));
            else if (auto err = refusal(*replies.value))
              rp.deliver(std::move(err));
            else
              rp.deliver(ok_atom::value);
          });
}

/// Queues a read whose replies `decode` turns into the answer of `rp`.
template <class Promise, class Decode>
void enqueue_read(persistence_pointer self, store::command_list commands,
                  Promise rp, Decode decode) {
  enqueue(self, std::move(commands), false,
          [rp, decode](const outcome<std::vector<redis_reply>>& replies,
                       bool) mutable {
            if (!replies) {
              rp.deliver(make_error(service_errc::storage_unavailable,
                                    replies.error));
              return;
            }
            auto decoded = decode(*replies.value);
            if (decoded)
              rp.deliver(std::move(*decoded.value));
            else
              rp.deliver(make_error(service_errc::storage_unavailable,
                                    decoded.error));
          });
}

/// Sends every pending command in one pipeline and completes each operation
/// with its own slice of the replies. When the round trip fails part-way,
/// the operations answered before the failure complete as usual; the rest
/// fail, as possibly applied if their commands were sent.
void flush(persistence_pointer self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  auto batch = std::move(st.pending);
  st.pending.clear();
  std::vector<redis_command> commands;
  bool writes = false;
  for (auto& op : batch) {
    // Moved, not copied: an operation keeps only its number of commands.
    commands.insert(commands.end(),
                    std::make_move_iterator(op.commands.begin()),
                    std::make_move_iterator(op.commands.end()));
    writes = writes || op.writes;
  }
  metrics::global().commit_batch_operations.observe(
    static_cast<double>(batch.size()));
  bool waits = writes && st.wait.replicas > 0;
  if (waits)
    commands.push_back(store::wait_command(st.wait.replicas, st.wait.timeout));
  auto result = st.redis->execute(commands);
  if (!result.complete())
    log_error("persistence", result.error);
  // Writes that did not reach the replicas required are applied on the
  // master but not acknowledged: their outcome is unknown to the writer.
  std::string shortfall;
  if (waits && result.complete()) {
    shortfall = store::replication_shortfall(result.replies.back(),
                                             st.wait.replicas);
    if (!shortfall.empty())
      log_error("persistence", shortfall);
  }
  auto next = result.replies.begin();
  for (auto& op : batch) {
    auto size = static_cast<std::ptrdiff_t>(op.commands.size());
    if (std::distance(next, result.replies.end()) < size) {
      op.complete(outcome<std::vector<redis_reply>>::failure(result.error),
                  result.maybe_applied);
      next = result.replies.end();
      continue;
    }
    std::vector<redis_reply> replies(std::make_move_iterator(next),
                                     std::make_move_iterator(next + size));
    next += size;
    // A write its script refused changed nothing: it reports that instead.
    if (op.writes && !shortfall.empty() && !refusal(replies))
      op.complete(outcome<std::vector<redis_reply>>::failure(shortfall), true);
    else
      op.complete(outcome<std::vector<redis_reply>>{std::move(replies), {}},
                  false);
  }
}

} // namespace

persistence_actor::behavior_type persistence(persistence_pointer self,
                                             redis_target target,
                                             std::chrono::milliseconds timeout,
                                             replication_wait wait) {
  self->state.redis = std::make_unique<redis_connection>(std::move(target),
                                                         timeout);
  self->state.wait = wait;
  return {
    [=](load_atom, const std::string& id) {
      auto rp = self->make_response_promise<session_snapshot>();
      enqueue_read(self, store::load_commands(id), rp, store::decode_load);
      return rp;
    },
    [=](append_atom, const std::string& id, const store::append_change& change) {
      auto rp = self->make_response_promise<ok_atom>();
      enqueue_write(self, store::append_commands(id, change, unix_time_ms()), rp);
      return rp;
    },
    [=](fold_atom, const std::string& id, const store::fold_change& change) {
      auto rp = self->make_response_promise<ok_atom>();
      enqueue_write(self, store::fold_commands(id, change), rp);
      return rp;
    },
    [=](erase_atom, const std::string& id,
        const std::vector<std::string>& namespaces, uint64_t epoch) {
      auto rp = self->make_response_promise<ok_atom>();
      enqueue_write(self, store::delete_commands(id, namespaces, epoch), rp);
      return rp;
    },
    [=](list_atom, const session_page& page) {
      auto rp = self->make_response_promise<std::vector<std::string>>();
      enqueue_read(self, store::list_commands(page), rp, store::decode_list);
      return rp;
    },
    [=](ping_atom) {
      auto rp = self->make_response_promise<ok_atom>();
      enqueue_read(self, store::ping_commands(), rp,
                   [](const std::vector<redis_reply>& replies) {
                     auto err = store::first_error(replies);
                     return err.empty() ? outcome<ok_atom>{ok_atom::value, {}}
                                        : outcome<ok_atom>::failure(err);
                   });
      return rp;
    },
    [=](archive_atom, const std::string& id) {
      auto rp = self->make_response_promise<session_archive>();
      enqueue_read(self, store::archive_commands(id), rp, store::decode_archive);
      return rp;
    },
    [=](vectors_atom, const std::string& id, const store::vector_batch& batch,
        bool all_embedded) {
      auto rp = self->make_response_promise<ok_atom>();
      enqueue_write(self, store::vectors_commands(id, batch, all_embedded), rp);
      return rp;
    },
    [=](pending_atom, uint32_t limit) {
      auto rp = self->make_response_promise<std::vector<std::string>>();
      enqueue_read(self, store::pending_embedding_commands(limit), rp,
                   store::decode_list);
      return rp;
    },
    [=](rate_atom, uint64_t requests_per_minute, uint64_t tokens_per_minute,
        uint64_t tokens) {
      auto rp = self->make_response_promise<int64_t>();
      enqueue_read(self,
                   store::rate_limit_commands(requests_per_minute,
                                              tokens_per_minute, tokens),
                   rp, store::decode_rate_limit);
      return rp;
    },
    [=](flush_atom) { flush(self); },
  };
}

} // namespace motorhead
