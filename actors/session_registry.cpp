#include "actors/session_registry.hpp"

#include <caf/all.hpp>

#include "core/log.hpp"
#include "core/rendezvous.hpp"

namespace motorhead {

registry_state::~registry_state() {
  for (const auto& [id, session] : sessions)
    caf::anon_send_exit(session.handle, caf::exit_reason::user_shutdown);
  for (const auto& address : retired)
    caf::anon_send_exit(address, caf::exit_reason::user_shutdown);
}

namespace {

using session_iterator =
  std::unordered_map<std::string, registry_state::entry>::iterator;

/// A batch of sessions to retire, and the pause before the next: the pause
/// lets the workers stop this batch before the next joins their queue, so
/// that a request's actor never waits behind thousands of them.
constexpr std::size_t retire_batch = 256;
constexpr auto retire_pause = std::chrono::milliseconds{1};

/// Forgets a session that is about to stop or hand over.
void forget(registry_pointer self, session_iterator it) {
  self->state.ids.erase(it->second.handle.address());
  self->state.to_retire.erase(it->first);
  self->state.sessions.erase(it);
}

/// Tells the session to stop once its writes in flight are done; requests
/// for its id go to a fresh actor from now on.
void retire(registry_pointer self, session_iterator it) {
  self->state.retired.insert(it->second.handle.address());
  self->send(it->second.handle, retire_atom::value);
  forget(self, it);
}

/// The session's actor, spawned and monitored when the session has none;
/// counts the request handed to it.
session_actor& session_for(registry_pointer self, const std::string& id) {
  auto& st = self->state;
  auto it = st.sessions.find(id);
  if (it != st.sessions.end() && st.to_retire.count(id) > 0) {
    retire(self, it);
    it = st.sessions.end();
  }
  if (it == st.sessions.end()) {
    auto handle = self->spawn(session, id, st.limits, st.peers);
    self->monitor(handle);
    st.ids.emplace(handle.address(), id);
    it = st.sessions.emplace(id, registry_state::entry{handle, 0}).first;
  }
  ++it->second.delegated;
  return it->second.handle;
}

/// Retires the next batch of sessions marked for it, and asks for another
/// turn, a pause later, while any are left.
void retire_next_batch(registry_pointer self) {
  auto& st = self->state;
  for (std::size_t n = 0; n < retire_batch && !st.to_retire.empty(); ++n)
    retire(self, st.sessions.find(*st.to_retire.begin()));
  if (!st.to_retire.empty())
    self->delayed_send(self, retire_pause, retire_atom::value);
}

/// A session stopped without the registry asking: retired ones do when
/// their writes are done, others when they fail. Requests still on their
/// way to it fail with `request_receiver_down`; the next one starts anew.
void handle_down(registry_pointer self, caf::down_msg& msg) {
  auto& st = self->state;
  if (st.retired.erase(msg.source) > 0)
    return;
  auto id = st.ids.find(msg.source);
  if (id == st.ids.end())
    return;
  log_warn("registry", "session stopped: " + self->system().render(msg.reason),
           {text_field("session", id->second)});
  forget(self, st.sessions.find(id->second));
}

} // namespace

registry_actor::behavior_type session_registry(registry_pointer self,
                                               session_peers peers,
                                               session_limits limits) {
  self->state.peers = std::move(peers);
  self->state.peers.registry = caf::actor_cast<registry_actor>(self);
  self->state.limits = limits;
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
    [=](memory_delete_atom, const std::string& id,
        std::vector<std::string>& namespaces, access_scope& scope) {
      return self->delegate(session_for(self, id), memory_delete_atom::value,
                            std::move(namespaces), std::move(scope));
    },
    [=](retrieve_atom, const std::string& id, retrieval_query& query,
        access_scope& scope) {
      return self->delegate(session_for(self, id), retrieve_atom::value,
                            std::move(query), std::move(scope));
    },
    [=](list_atom, session_page& page) {
      return self->delegate(self->state.peers.store, list_atom::value,
                            std::move(page));
    },
    [=](ping_atom) {
      return self->delegate(self->state.peers.store, ping_atom::value);
    },
    [=](cluster_atom, const std::string& id) {
      // A node on its own: it owns every session.
      const std::string node = "local";
      return cluster_view{node, {node}, {}, id.empty() ? "" : node};
    },
    [=](idle_atom, const std::string& id, uint64_t handled) {
      auto& sessions = self->state.sessions;
      auto it = sessions.find(id);
      auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
      if (it == sessions.end() || it->second.handle.address() != sender
          || it->second.delegated != handled)
        return false;
      self->demonitor(it->second.handle.address());
      forget(self, it);
      return true;
    },
    [=](retire_atom, const std::vector<std::string>& members,
        const std::string& node) {
      auto& st = self->state;
      bool batches_running = !st.to_retire.empty();
      for (const auto& [id, session] : st.sessions)
        if (owner_of(id, members) != node)
          st.to_retire.insert(id);
      if (!batches_running && !st.to_retire.empty())
        retire_next_batch(self);
    },
    [=](retire_atom) { retire_next_batch(self); },
  };
}

} // namespace motorhead
