#include "actors/session_registry.hpp"

#include <utility>

#include <caf/all.hpp>

#include "actors/fan_in.hpp"
#include "actors/namespace_search.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/rendezvous.hpp"

namespace motorhead {

registry_state::~registry_state() {
  for (const auto& [id, session] : sessions)
    caf::anon_send_exit(session.handle, caf::exit_reason::user_shutdown);
  for (const auto& address : retired)
    caf::anon_send_exit(address, caf::exit_reason::user_shutdown);
}

void registry_state::recency_list::push_newest(slot& s) {
  s.second.newer = nullptr;
  s.second.older = newest_;
  (newest_ != nullptr ? newest_->second.newer : oldest_) = &s;
  newest_ = &s;
}

void registry_state::recency_list::unlink(slot& s) {
  auto& links = s.second;
  (links.newer != nullptr ? links.newer->second.older : newest_) = links.older;
  (links.older != nullptr ? links.older->second.newer : oldest_) = links.newer;
  links.newer = links.older = nullptr;
}

namespace {

using slot = registry_state::slot;
using session_iterator = registry_state::session_map::iterator;

/// A batch of sessions to retire or to ask whether they may stop, and the
/// pause before the next: the pause lets the workers stop this batch
/// before the next joins their queue, so that a request's actor never
/// waits behind thousands of them.
constexpr std::size_t stop_batch = 256;
constexpr auto stop_pause = std::chrono::milliseconds{1};

enum class stop_reason { idle, evicted };

/// Takes the session out of the recency list, or out of the sessions asked
/// whether they may stop (which are not in the list).
void unlink(registry_state& st, slot& s) {
  if (s.second.stop_question != 0) {
    s.second.stop_question = 0;
    --st.asked_to_stop;
  } else {
    st.recency.unlink(s);
  }
}

/// Forgets a session that is about to stop or hand over.
void forget(registry_pointer self, session_iterator it) {
  auto& st = self->state;
  unlink(st, *it);
  st.ids.erase(it->second.handle.address());
  st.to_retire.erase(it->first);
  st.sessions.erase(it);
}

/// Tells the session to stop once its writes in flight are done; requests
/// for its id go to a fresh actor from now on.
void retire(registry_pointer self, session_iterator it) {
  self->state.retired.insert(it->second.handle.address());
  self->send(it->second.handle, retire_atom::value);
  forget(self, it);
}

/// Arms the sweep of idle sessions unless it is armed already.
void schedule_sweep(registry_pointer self, caf::timespan delay) {
  if (std::exchange(self->state.sweep_scheduled, true))
    return;
  self->delayed_send(self, delay, idle_atom::value);
}

/// Makes the session the most recently used, and arms the sweep that
/// finds it idle if nothing older will.
void make_newest(registry_pointer self, slot& s) {
  auto& st = self->state;
  unlink(st, s);
  s.second.last_used = self->clock().now();
  st.recency.push_newest(s);
  schedule_sweep(self, st.cache.idle);
}

/// The session's answer to `question`, whether it may stop. It stops only
/// while that question is still the one it is asked: a request delegated
/// since then made it the newest again, and reached it after the question
/// (and an answer to an earlier question, late, may come while a later one
/// is asked). A busy session goes back to the list as the newest, to be
/// asked again an idle time later.
void settle_stop(registry_pointer self, const caf::actor_addr& address,
                 uint32_t question, bool may_stop, stop_reason reason) {
  auto& st = self->state;
  auto found = st.ids.find(address);
  if (found == st.ids.end()
      || found->second->second.stop_question != question)
    return;
  auto& s = *found->second;
  if (!may_stop) {
    if (reason == stop_reason::evicted)
      metrics::global().session_evictions_deferred.add();
    make_newest(self, s);
    return;
  }
  self->demonitor(address);
  self->send(s.second.handle, retire_atom::value);
  forget(self, st.sessions.find(s.first));
  auto& metrics = metrics::global();
  (reason == stop_reason::idle ? metrics.session_idle_stops
                               : metrics.session_evictions)
    .add();
}

/// Asks the session whether it may stop; until it answers, it is out of
/// the recency list.
void ask_to_stop(registry_pointer self, slot& s, stop_reason reason) {
  auto& st = self->state;
  st.recency.unlink(s);
  if (++st.last_stop_question == 0) // 0 means none
    ++st.last_stop_question;
  auto question = st.last_stop_question;
  s.second.stop_question = question;
  ++st.asked_to_stop;
  auto address = s.second.handle.address();
  self->request(s.second.handle, caf::infinite, idle_atom::value)
    .then(
      [=](bool may_stop) {
        settle_stop(self, address, question, may_stop, reason);
      },
      // It failed: its down message forgets it.
      [=](caf::error&) { settle_stop(self, address, question, false, reason); });
}

/// Asks the sessions idle for the idle time to stop, oldest first and a
/// batch per turn, and arms the sweep for the next one to become idle.
void sweep_idle(registry_pointer self) {
  auto& st = self->state;
  st.sweep_scheduled = false;
  auto now = self->clock().now();
  for (std::size_t n = 0; n < stop_batch; ++n) {
    auto* oldest = st.recency.oldest();
    if (oldest == nullptr)
      return;
    auto idle_for = now - oldest->second.last_used;
    if (idle_for < st.cache.idle) {
      schedule_sweep(self, st.cache.idle - idle_for);
      return;
    }
    ask_to_stop(self, *oldest, stop_reason::idle);
  }
  schedule_sweep(self, stop_pause);
}

/// Beyond the bound on live sessions, asks the least recently used to
/// stop. Sessions already asked do not count: they stop unless busy.
void evict_beyond_bound(registry_pointer self) {
  auto& st = self->state;
  if (st.cache.max_sessions == 0)
    return;
  while (st.sessions.size() - st.asked_to_stop > st.cache.max_sessions
         && st.recency.oldest() != nullptr)
    ask_to_stop(self, *st.recency.oldest(), stop_reason::evicted);
}

/// A fresh, monitored actor for the session.
session_iterator start_session(registry_pointer self, const std::string& id) {
  auto& st = self->state;
  auto handle = self->spawn(session, id, st.setup);
  self->monitor(handle);
  auto it = st.sessions.try_emplace(id).first;
  it->second.handle = handle;
  st.ids.emplace(handle.address(), &*it);
  st.recency.push_newest(*it);
  return it;
}

/// The session's actor, spawned and monitored when the session has none;
/// now its most recently used.
session_actor& session_for(registry_pointer self, const std::string& id) {
  auto& st = self->state;
  auto it = st.sessions.find(id);
  if (it != st.sessions.end() && st.to_retire.count(id) > 0) {
    retire(self, it);
    it = st.sessions.end();
  }
  if (it == st.sessions.end())
    it = start_session(self, id);
  make_newest(self, *it);
  evict_beyond_bound(self);
  return it->second.handle;
}

/// Retires the next batch of sessions marked for it, and asks for another
/// turn, a pause later, while any are left.
void retire_next_batch(registry_pointer self) {
  auto& st = self->state;
  for (std::size_t n = 0; n < stop_batch && !st.to_retire.empty(); ++n)
    retire(self, st.sessions.find(*st.to_retire.begin()));
  if (!st.to_retire.empty())
    self->delayed_send(self, stop_pause, retire_atom::value);
}

/// Answers the releases waiting once no session is left to retire or
/// still stopping.
void answer_releases_if_done(registry_pointer self) {
  auto& st = self->state;
  if (!st.to_retire.empty() || !st.retired.empty())
    return;
  for (auto& waiter : st.release_waiters)
    waiter.deliver(ok_atom::value);
  st.release_waiters.clear();
}

/// Marks the sessions that `node` no longer owns among `members` for
/// retirement, and starts the batches unless they run already.
void retire_owned_elsewhere(registry_pointer self,
                            const std::vector<std::string>& members,
                            const std::string& node) {
  auto& st = self->state;
  bool batches_running = !st.to_retire.empty();
  for (const auto& [id, session] : st.sessions)
    if (owner_of(id, members) != node)
      st.to_retire.insert(id);
  if (!batches_running && !st.to_retire.empty())
    retire_next_batch(self);
}

/// A session stopped without the registry asking: retired ones do when
/// their writes are done, others when they fail. Requests still on their
/// way to it fail with `request_receiver_down`; the next one starts anew.
void handle_down(registry_pointer self, caf::down_msg& msg) {
  auto& st = self->state;
  if (st.retired.erase(msg.source) > 0) {
    answer_releases_if_done(self);
    return;
  }
  auto found = st.ids.find(msg.source);
  if (found == st.ids.end())
    return;
  const auto& id = found->second->first;
  log_warn("registry", "session stopped: " + self->system().render(msg.reason),
           {text_field("session", id)});
  forget(self, st.sessions.find(id));
}

/// Asks every session of `ids` the same step of a namespace's search for
/// `query`, and answers their answers merged; none is asked once the
/// requester has stopped waiting.
template <class T, class Merge, class... Ts>
caf::result<T> ask_sessions(registry_pointer self,
                            const std::vector<std::string>& ids, Merge merge,
                            const retrieval_query& query, Ts... xs) {
  auto rp = self->make_response_promise<T>();
  auto deadline = deadline_of(query, self->clock().now());
  gather(
    rp, ids.size(), std::move(merge),
    [=](std::size_t i) {
      return self->request(session_for(self, ids[i]),
                           timeout_until(deadline, self->clock().now()),
                           xs...);
    },
    [=] { return self->clock().now() >= deadline; });
  return rp;
}

/// The hits of the messages picked, each asked of its session.
caf::result<std::vector<retrieval_hit>>
fetch_picks(registry_pointer self, std::vector<ranked_message> picks,
            access_scope scope) {
  auto by_session = group_by(std::move(picks), [](const ranked_message& pick) {
    return pick.session_id;
  });
  auto rp = self->make_response_promise<std::vector<retrieval_hit>>();
  gather(rp, by_session.size(), merge_hits, [=](std::size_t i) {
    const auto& [id, own] = by_session[i];
    return self->request(session_for(self, id), caf::infinite,
                         fetch_atom::value, own, scope);
  });
  return rp;
}

/// Answers a namespace's deletion with the number of sessions deleted,
/// once a last write proves them all (see forget_atom): with WAIT, a
/// retry that finds nothing left to delete still answers only once the
/// replicas have what the first try deleted.
struct answer_when_proven {
  registry_pointer self;
  std::string ns;
  caf::typed_response_promise<uint64_t> rp;

  void deliver(uint64_t deleted) {
    self->request(self->state.setup->peers.store, caf::infinite,
                  forget_atom::value, ns)
      .then([rp = rp, deleted](ok_atom) mutable { rp.deliver(deleted); },
            [rp = rp](caf::error& err) mutable { rp.deliver(err); });
  }

  void deliver(caf::error err) { rp.deliver(std::move(err)); }
};

/// Deletes every session listed under the namespace, each through
/// `router` (to its owner), leaving nothing of them in Redis; answers how
/// many there were. The namespace's index empties with the last of them.
caf::result<uint64_t> forget_namespace(registry_pointer self, std::string ns,
                                       access_scope scope,
                                       router_actor router) {
  auto rp = self->make_response_promise<uint64_t>();
  self->request(self->state.setup->peers.store, caf::infinite,
                namespace_atom::value, ns)
    .then(
      [=](std::vector<std::string>& sessions) mutable {
        auto add = [](uint64_t& total, uint64_t one) { total += one; };
        auto deleted = fan_in<uint64_t, decltype(add), answer_when_proven>{
          answer_when_proven{self, ns, rp}, sessions.size(), add};
        send_windowed(sessions.size(), [=](std::size_t i, auto done) mutable {
          self->request(router, caf::infinite, memory_delete_atom::value,
                        sessions[i], erase_request{{ns}, true, 0}, scope)
            .then(
              [deleted, done](ok_atom) mutable {
                deleted.add(1);
                done();
              },
              [deleted, done](caf::error& err) mutable {
                deleted.fail(std::move(err));
                done();
              });
        });
      },
      [=](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

/// Runs a namespace's search in an actor of its own, its steps sent to
/// `router`.
caf::result<std::vector<retrieval_hit>>
search_namespace(registry_pointer self, namespace_query request,
                 access_scope scope, router_actor router) {
  auto search = self->spawn(namespace_search, std::move(router),
                            self->state.setup);
  return self->delegate(search, retrieve_atom::value, std::move(request),
                        std::move(scope));
}

} // namespace

registry_actor::behavior_type session_registry(registry_pointer self,
                                               session_setup setup,
                                               session_cache_policy cache) {
  self->state.setup = std::make_shared<const session_setup>(std::move(setup));
  self->state.cache = cache;
  // Two sessions per bucket on average: a bucket is 8 bytes per session
  // and map, and a lookup compares an id or two more.
  self->state.sessions.max_load_factor(2.0f);
  self->state.ids.max_load_factor(2.0f);
  self->set_down_handler(
    [=](caf::down_msg& msg) { handle_down(self, msg); });
  return {
    [=](memory_get_atom, const std::string& id, access_scope& scope) {
      return self->delegate(session_for(self, id), memory_get_atom::value,
                            std::move(scope));
    },
    [=](memory_append_atom, const std::string& id, append_request& request,
        access_scope& scope) {
      return self->delegate(session_for(self, id), memory_append_atom::value,
                            std::move(request), std::move(scope));
    },
    [=](memory_delete_atom, const std::string& id, erase_request& request,
        access_scope& scope) {
      return self->delegate(session_for(self, id), memory_delete_atom::value,
                            std::move(request), std::move(scope));
    },
    [=](forget_atom, std::string& ns, access_scope& scope) {
      return forget_namespace(self, std::move(ns), std::move(scope),
                              caf::actor_cast<router_actor>(self));
    },
    [=](forget_atom, std::string& ns, access_scope& scope,
        router_actor& router) {
      return forget_namespace(self, std::move(ns), std::move(scope),
                              std::move(router));
    },
    [=](retrieve_atom, const std::string& id, retrieval_query& query,
        access_scope& scope) {
      return self->delegate(session_for(self, id), retrieve_atom::value,
                            std::move(query), std::move(scope));
    },
    [=](info_atom, const std::string& id, session_patch& patch,
        access_scope& scope) {
      return self->delegate(session_for(self, id), info_atom::value,
                            std::move(patch), std::move(scope));
    },
    [=](retrieve_atom, namespace_query& request, access_scope& scope) {
      return search_namespace(self, std::move(request), std::move(scope),
                              caf::actor_cast<router_actor>(self));
    },
    [=](retrieve_atom, namespace_query& request, access_scope& scope,
        router_actor& router) {
      return search_namespace(self, std::move(request), std::move(scope),
                              std::move(router));
    },
    [=](stats_atom, const std::vector<std::string>& ids,
        retrieval_query& query, access_scope& scope) {
      return ask_sessions<corpus_stats>(self, ids, add_stats, query,
                                        stats_atom::value, query, scope);
    },
    [=](candidates_atom, const std::vector<std::string>& ids,
        candidate_request& request, access_scope& scope) {
      return ask_sessions<search_candidates>(self, ids, merge_candidates,
                                             request.query,
                                             candidates_atom::value, request,
                                             scope);
    },
    [=](fetch_atom, std::vector<ranked_message>& picks, access_scope& scope) {
      return fetch_picks(self, std::move(picks), std::move(scope));
    },
    [=](list_atom, session_page& page) {
      return self->delegate(self->state.setup->peers.store, list_atom::value,
                            std::move(page));
    },
    [=](ping_atom) {
      return self->delegate(self->state.setup->peers.store, ping_atom::value);
    },
    [=](cluster_atom, const std::string& id) {
      // A node on its own: it owns every session.
      const std::string node = "local";
      cluster_view view;
      view.node = node;
      view.members = {node};
      view.owner = id.empty() ? "" : node;
      return view;
    },
    [=](idle_atom) { sweep_idle(self); },
    [=](retire_atom, const std::vector<std::string>& members,
        const std::string& node) {
      retire_owned_elsewhere(self, members, node);
    },
    [=](release_atom, const std::vector<std::string>& members,
        const std::string& node) {
      retire_owned_elsewhere(self, members, node);
      auto rp = self->make_response_promise<ok_atom>();
      self->state.release_waiters.push_back(rp);
      answer_releases_if_done(self);
      return rp;
    },
    [=](retire_atom) { retire_next_batch(self); },
  };
}

} // namespace motorhead
