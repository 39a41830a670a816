#include "actors/session_registry.hpp"

#include <caf/all.hpp>

#include "core/rendezvous.hpp"

namespace motorhead {

namespace {

/// The session's actor, spawned (linked, so that it stops with the
/// registry) when the session has none; counts the request handed to it.
session_actor& session_for(registry_pointer self, const std::string& id) {
  auto& st = self->state;
  auto it = st.sessions.find(id);
  if (it == st.sessions.end()) {
    auto handle = self->spawn<caf::linked>(session, id, st.limits, st.peers);
    it = st.sessions.emplace(id, registry_state::entry{handle, 0}).first;
  }
  ++it->second.delegated;
  return it->second.handle;
}

/// A session that failed stops alone; shutdown stops the registry and,
/// through the links, every session.
void handle_exit(registry_pointer self, caf::exit_msg& msg) {
  if (self->state.retired.erase(msg.source) > 0)
    return; // a retired session finished
  auto& sessions = self->state.sessions;
  for (auto it = sessions.begin(); it != sessions.end(); ++it)
    if (it->second.handle.address() == msg.source) {
      caf::aout(self) << "session " << it->first << " stopped: "
                      << self->system().render(msg.reason) << "\n";
      sessions.erase(it);
      return;
    }
  self->quit(msg.reason);
}

} // namespace

registry_actor::behavior_type session_registry(registry_pointer self,
                                               session_peers peers,
                                               session_limits limits) {
  self->state.peers = std::move(peers);
  self->state.peers.registry = caf::actor_cast<registry_actor>(self);
  self->state.limits = limits;
  self->set_exit_handler(
    [=](caf::exit_msg& msg) { handle_exit(self, msg); });
  return {
    [=](memory_get_atom, const std::string& id) {
      return self->delegate(session_for(self, id), memory_get_atom::value);
    },
    [=](memory_append_atom, const std::string& id, append_request& request) {
      return self->delegate(session_for(self, id), memory_append_atom::value,
                            std::move(request));
    },
    [=](memory_delete_atom, const std::string& id,
        std::vector<std::string>& namespaces) {
      return self->delegate(session_for(self, id), memory_delete_atom::value,
                            std::move(namespaces));
    },
    [=](retrieve_atom, const std::string& id, retrieval_query& query) {
      return self->delegate(session_for(self, id), retrieve_atom::value,
                            std::move(query));
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
      self->unlink_from(it->second.handle);
      sessions.erase(it);
      return true;
    },
    [=](retire_atom, const std::vector<std::string>& members,
        const std::string& node) {
      auto& sessions = self->state.sessions;
      for (auto it = sessions.begin(); it != sessions.end();) {
        if (owner_of(it->first, members) == node) {
          ++it;
          continue;
        }
        // It stops by itself once its writes and fold in flight are done.
        self->state.retired.insert(it->second.handle.address());
        self->send(it->second.handle, retire_atom::value);
        it = sessions.erase(it);
      }
    },
  };
}

} // namespace motorhead
