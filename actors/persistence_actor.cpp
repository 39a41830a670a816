#include "actors/persistence_actor.hpp"

#include <algorithm>
#include <limits>

#include <caf/all.hpp>

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/unix_time.hpp"
#include "storage/original_layout.hpp"
#include "storage/shared_rate_limit.hpp"

namespace motorhead {

namespace {

/// Whether an answer of `redis` comes from every server there is: not so
/// for a Redis Cluster, whose other masters answer while one is down.
bool answered_whole(redis_client& redis) {
  auto topology = redis.topology();
  return topology && *topology.value == redis_topology::single;
}

/// Redis, as every persistence actor of the process sees it: an outage is
/// logged once, not once per round trip.
outage_log& redis_outage() {
  static outage_log log{"persistence", "Redis"};
  return log;
}

/// Logs a failure of a single write once per burst of the same failure.
void log_repeated(const std::string& failure) {
  static burst_filter repeats;
  log_filtered(repeats, log_level::error, "persistence", failure);
}

/// The rows of members that left or died are kept an hour: long enough to
/// read in the log what became of a node.
constexpr int64_t keep_departed_ms = 3'600'000;

using operation_result = outcome<std::vector<redis_reply>>;
using plan_builder = std::function<store::write_plan(const store::key_layout&)>;

/// Has the actor flush once it has handled the messages already waiting.
void schedule_flush(persistence_pointer self) {
  auto& st = self->state;
  if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, flush_atom::value);
  }
}

/// Queues an operation for the next round trip. The flush message goes to
/// the back of the mailbox, so every request already waiting there joins
/// the same pipeline: a batch is whatever arrived during the previous trip.
void enqueue(persistence_pointer self, plan_builder build, bool writes,
             persistence_state::completion complete) {
  auto& st = self->state;
  st.pending.push_back({std::move(build), writes, std::move(complete)});
  schedule_flush(self);
}

/// A plan of commands that need no index updates: reads, and writes that
/// touch only the session's keys.
template <class MakeCommands>
plan_builder commands_only(MakeCommands make) {
  return [make](const store::key_layout& layout) {
    store::write_plan plan;
    plan.commands = make(layout);
    return plan;
  };
}

/// The error of a write whose replies say it was not applied (or was, by
/// an earlier try), or none.
caf::error refusal(const std::vector<redis_reply>& replies) {
  if (store::is_fenced(replies))
    return make_error(service_errc::fenced, replies.front().text);
  if (store::is_stale(replies))
    return make_error(service_errc::stale, replies.front().text);
  if (store::is_already_stored(replies))
    return make_error(service_errc::already_stored,
                      "every message of the POST is stored already");
  if (store::is_touched(replies))
    return make_error(service_errc::touched, replies.front().text);
  if (store::is_id_conflict(replies))
    return make_error(service_errc::id_conflict,
                      replies.front().text.substr(sizeof "CONFLICT"));
  if (auto err = store::first_error(replies); !err.empty())
    return make_error(service_errc::storage_unavailable, err);
  return {};
}

/// Whether a write's replies vouch for what it asked: its script applied
/// it, or found it applied by an earlier try (a retry, whose answer must
/// prove what the first try's would have: that the replicas have it, that
/// the indexes list it).
bool vouches_for_the_write(const std::vector<redis_reply>& replies) {
  return !refusal(replies) || store::is_already_stored(replies);
}

/// Queues a write whose replies only acknowledge, answering `rp` with ok.
template <class Promise>
void enqueue_write(persistence_pointer self, plan_builder build, Promise rp) {
  enqueue(self, std::move(build), true,
          [rp](const operation_result& replies, bool maybe_applied) mutable {
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

/// Every session id the replies list.
outcome<std::vector<std::string>>
every_session_id(const std::vector<redis_reply>& replies) {
  return store::decode_session_ids(replies,
                                   std::numeric_limits<std::size_t>::max());
}

/// Queues a read whose replies `decode` turns into the answer of `rp`.
template <class Promise, class Decode>
void enqueue_read(persistence_pointer self, plan_builder build, Promise rp,
                  Decode decode) {
  enqueue(self, std::move(build), false,
          [rp, decode](const operation_result& replies, bool) mutable {
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

/// Reads a session, claiming it if it exists or `claim_always`.
caf::result<session_snapshot> load(persistence_pointer self,
                                   const std::string& id, bool claim_always) {
  auto rp = self->make_response_promise<session_snapshot>();
  auto original = self->state.original;
  enqueue_read(self,
               commands_only([id, claim_always,
                              original](const store::key_layout& layout) {
                 return store::load_commands(id, claim_always, original,
                                             layout);
               }),
               rp, store::decode_load);
  return rp;
}

/// Completes a write whose script vouched for it once its index updates
/// are applied too (Redis Cluster: the indexes live in other slots); the
/// entries only a write that stored something may make go only with such a
/// write. When they fail, a write that requires them fails as possibly
/// applied; any other completes anyway: its session's next write updates
/// the indexes again.
void complete_after_indexes(persistence_pointer self,
                            store::write_plan plan,
                            persistence_state::completion complete,
                            std::vector<redis_reply> replies) {
  auto required = plan.indexes_required;
  auto updates = std::move(plan.index_updates);
  if (!store::is_already_stored(replies))
    updates.insert(updates.end(),
                   std::make_move_iterator(plan.new_index_updates.begin()),
                   std::make_move_iterator(plan.new_index_updates.end()));
  enqueue(
    self,
    commands_only([updates = std::move(updates)](
                    const store::key_layout&) { return updates; }),
    true,
    [complete, required, replies = std::move(replies)](
      const operation_result& indexed, bool) {
      auto why = indexed ? store::first_error(*indexed.value) : indexed.error;
      if (why.empty()) {
        complete({replies, {}}, false);
        return;
      }
      log_repeated("index update failed: " + why);
      if (required)
        complete(operation_result::failure(why), true);
      else
        complete({replies, {}}, false);
    });
}

/// Sends every pending operation's commands in one pipeline, which joins
/// the round trips in flight; false when Redis cannot be reached (the
/// operations failed).
bool send_pending(persistence_pointer self) {
  auto& st = self->state;
  persistence_state::round_trip trip;
  trip.operations = std::move(st.pending);
  st.pending.clear();
  auto topology = st.redis->topology();
  if (!topology) {
    redis_outage().failed(topology.error);
    for (auto& op : trip.operations)
      op.complete(operation_result::failure(topology.error), false);
    return false;
  }
  auto layout = store::key_layout::of(*topology.value);
  trip.plans.reserve(trip.operations.size());
  std::vector<redis_command> commands;
  bool writes = false;
  for (auto& op : trip.operations) {
    trip.plans.push_back(op.build(layout));
    // Moved, not copied: a plan keeps only its number of commands.
    auto& planned = trip.plans.back().commands;
    commands.insert(commands.end(), std::make_move_iterator(planned.begin()),
                    std::make_move_iterator(planned.end()));
    writes = writes || op.writes;
  }
  metrics::global().commit_batch_operations.observe(
    static_cast<double>(trip.operations.size()));
  st.redis->send(std::move(commands), writes);
  st.in_flight.push_back(std::move(trip));
  return true;
}

/// Receives the replies of the oldest round trip in flight and completes
/// each of its operations with its own slice of them. When the round trip
/// failed part-way, the operations answered completely complete as usual;
/// the rest fail, as possibly applied if their commands were sent.
void complete_oldest(persistence_pointer self) {
  auto& st = self->state;
  auto trip = std::move(st.in_flight.front());
  st.in_flight.pop_front();
  auto result = st.redis->receive();
  if (result.complete())
    redis_outage().answered(answered_whole(*st.redis));
  else
    redis_outage().failed(result.error);
  // Writes that did not reach the replicas required are applied on the
  // master but not acknowledged: their outcome is unknown to the writer.
  const auto& shortfall = result.replication_shortfall;
  if (!shortfall.empty())
    log_repeated(shortfall);
  auto next = result.replies.begin();
  for (std::size_t i = 0; i < trip.operations.size(); ++i) {
    auto& op = trip.operations[i];
    auto& plan = trip.plans[i];
    auto size = static_cast<std::ptrdiff_t>(plan.commands.size());
    std::vector<redis_reply> replies(std::make_move_iterator(next),
                                     std::make_move_iterator(next + size));
    next += size;
    if (std::any_of(replies.begin(), replies.end(),
                    [](const auto& reply) { return reply.is_missing(); }))
      op.complete(operation_result::failure(result.error),
                  result.maybe_applied);
    // A write its script refused changed nothing: it reports that instead.
    else if (op.writes && !shortfall.empty() && vouches_for_the_write(replies))
      op.complete(operation_result::failure(shortfall), true);
    else if (!(plan.index_updates.empty() && plan.new_index_updates.empty())
             && vouches_for_the_write(replies))
      complete_after_indexes(self, std::move(plan), std::move(op.complete),
                             std::move(replies));
    else
      op.complete({std::move(replies), {}}, false);
  }
}

/// Sends what is pending, then receives the oldest round trip if another
/// is in flight behind it, so that Redis works on that one while the
/// replies are handled, or if nothing new was sent. Operations that arrive
/// meanwhile wait in the mailbox, ahead of the next flush, and go with it.
void flush(persistence_pointer self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  bool sent = !st.pending.empty() && send_pending(self);
  if (!st.in_flight.empty() && (st.in_flight.size() > 1 || !sent))
    complete_oldest(self);
  if (!st.in_flight.empty())
    schedule_flush(self);
}

} // namespace

persistence_actor::behavior_type persistence(persistence_pointer self,
                                             persistence_options options) {
  self->state.redis = make_redis_client(std::move(options.redis));
  self->state.original = options.original;
  return {
    [=](load_atom, const std::string& id) {
      return load(self, id, false);
    },
    [=](claim_atom, const std::string& id) {
      return load(self, id, true);
    },
    [=](info_atom, const std::string& id) {
      auto rp = self->make_response_promise<session_info>();
      enqueue_read(self,
                   commands_only([id](const store::key_layout&) {
                     return store::info_commands(id);
                   }),
                   rp, store::decode_info);
      return rp;
    },
    [=](append_atom, const std::string& id, store::append_change& change) {
      auto rp = self->make_response_promise<ok_atom>();
      bool original = self->state.original.has_value();
      enqueue_write(self,
                    [id, change = std::move(change), now = unix_time_ms(),
                     original](const store::key_layout& layout) {
                      return store::append_commands(id, change, now, layout,
                                                    original);
                    },
                    rp);
      return rp;
    },
    [=](fold_atom, const std::string& id, const store::fold_change& change) {
      auto rp = self->make_response_promise<ok_atom>();
      enqueue_write(self,
                    commands_only([id, change](const store::key_layout&) {
                      return store::fold_commands(id, change);
                    }),
                    rp);
      return rp;
    },
    [=](erase_atom, const std::string& id, const erase_request& request,
        uint64_t epoch) {
      auto rp = self->make_response_promise<ok_atom>();
      bool original = self->state.original.has_value();
      enqueue_write(self,
                    [id, request, epoch,
                     original](const store::key_layout& layout) {
                      return store::delete_commands(id, request, epoch, layout,
                                                    original);
                    },
                    rp);
      return rp;
    },
    [=](forget_atom, const std::string& ns) {
      auto rp = self->make_response_promise<ok_atom>();
      enqueue_write(self, commands_only([ns](const store::key_layout&) {
                      return store::forgotten_commands(ns);
                    }),
                    rp);
      return rp;
    },
    [=](expire_atom, int64_t cutoff_ms, uint32_t limit) {
      auto rp = self->make_response_promise<std::vector<std::string>>();
      enqueue_read(self,
                   commands_only([=](const store::key_layout& layout) {
                     return store::untouched_sessions_commands(cutoff_ms, limit,
                                                               layout);
                   }),
                   rp, every_session_id);
      return rp;
    },
    [=](list_atom, const session_page& page) {
      auto rp = self->make_response_promise<session_listing>();
      auto layout = std::make_shared<store::key_layout>();
      bool original = self->state.original.has_value();
      enqueue_read(self,
                   commands_only([page, layout,
                                  original](const store::key_layout& used) {
                     *layout = used;
                     return store::list_commands(page, used, original);
                   }),
                   rp,
                   [page, layout, original](const std::vector<redis_reply>& replies) {
                     return store::decode_list(replies, page, *layout, original);
                   });
      return rp;
    },
    [=](ping_atom) {
      auto rp = self->make_response_promise<ok_atom>();
      enqueue_read(self,
                   commands_only([](const store::key_layout&) {
                     return store::ping_commands();
                   }),
                   rp, [](const std::vector<redis_reply>& replies) {
                     auto err = store::first_error(replies);
                     return err.empty() ? outcome<ok_atom>{ok_atom::value, {}}
                                        : outcome<ok_atom>::failure(err);
                   });
      return rp;
    },
    [=](archive_atom, const std::string& id) {
      auto rp = self->make_response_promise<session_archive>();
      enqueue_read(self,
                   commands_only([id](const store::key_layout&) {
                     return store::archive_commands(id);
                   }),
                   rp, store::decode_archive);
      return rp;
    },
    [=](vectors_atom, const std::string& id, store::vector_batch& batch,
        bool all_embedded) {
      auto rp = self->make_response_promise<ok_atom>();
      enqueue_write(self,
                    [id, batch = std::move(batch),
                     all_embedded](const store::key_layout& layout) {
                      return store::vectors_commands(id, batch, all_embedded,
                                                     layout);
                    },
                    rp);
      return rp;
    },
    [=](pending_atom, uint32_t limit) {
      auto rp = self->make_response_promise<std::vector<std::string>>();
      enqueue_read(self,
                   commands_only([limit](const store::key_layout& layout) {
                     return store::pending_embedding_commands(limit, layout);
                   }),
                   rp, [limit](const std::vector<redis_reply>& replies) {
                     return store::decode_session_ids(replies, limit);
                   });
      return rp;
    },
    [=](namespace_atom, const std::string& ns) {
      auto rp = self->make_response_promise<std::vector<std::string>>();
      auto layout = std::make_shared<store::key_layout>();
      bool original = self->state.original.has_value();
      enqueue_read(self,
                   commands_only([ns, layout,
                                  original](const store::key_layout& used) {
                     *layout = used;
                     return store::namespace_sessions_commands(ns, used,
                                                               original);
                   }),
                   rp,
                   [layout, original](const std::vector<redis_reply>& replies) {
                     return store::decode_namespace_sessions(replies, *layout,
                                                             original);
                   });
      return rp;
    },
    [=](adopt_atom, const std::string& id,
        const std::vector<std::string>& namespaces) {
      auto rp = self->make_response_promise<std::vector<std::string>>();
      enqueue(self,
              commands_only([id, namespaces](const store::key_layout& layout) {
                return store::command_list{store::adopt_original_namespaces_command(
                  id, namespaces, layout)};
              }),
              true,
              [rp](const operation_result& replies, bool) mutable {
                auto names = replies
                               ? store::decode_adopted_namespaces(
                                 replies.value->at(0))
                               : outcome<std::vector<std::string>>::failure(
                                 replies.error);
                if (names)
                  rp.deliver(std::move(*names.value));
                else
                  rp.deliver(make_error(service_errc::storage_unavailable,
                                        names.error));
              });
      return rp;
    },
    [=](rate_atom, uint64_t requests_per_minute, uint64_t tokens_per_minute,
        uint64_t tokens) {
      auto rp = self->make_response_promise<int64_t>();
      enqueue_read(self,
                   commands_only([=](const store::key_layout&) {
                     return store::rate_limit_commands(
                       requests_per_minute, tokens_per_minute, tokens);
                   }),
                   rp, store::decode_rate_limit);
      return rp;
    },
    [=](members_atom, const std::string& reader, uint64_t held_version) {
      auto rp = self->make_response_promise<store::membership_table>();
      enqueue_read(self,
                   commands_only([=](const store::key_layout&) {
                     return store::membership_read_commands(reader,
                                                            held_version);
                   }),
                   rp, store::decode_membership);
      return rp;
    },
    [=](members_atom, uint64_t expected,
        const std::vector<store::member_row>& rows) {
      auto rp = self->make_response_promise<store::membership_write_result>();
      enqueue_read(self,
                   commands_only([=](const store::key_layout&) {
                     return store::membership_write_commands(
                       expected, rows, keep_departed_ms);
                   }),
                   rp, store::decode_membership_write);
      return rp;
    },
    [=](suspect_atom, uint64_t expected, const std::string& suspect,
        const std::string& suspecter, int64_t window_ms) {
      auto rp = self->make_response_promise<store::membership_suspect_result>();
      enqueue_read(self,
                   commands_only([=](const store::key_layout&) {
                     return store::membership_suspect_commands(
                       expected, suspect, suspecter, window_ms,
                       keep_departed_ms);
                   }),
                   rp, store::decode_membership_suspect);
      return rp;
    },
    [=](flush_atom) { flush(self); },
  };
}

} // namespace motorhead
