// The cluster node's membership: heartbeats and the lease, peers joining,
// failing and leaving, this node's own leave, and the connector that
// reaches the configured peers.
#include "actors/cluster_node.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include "actors/cluster_node_internal.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"

namespace motorhead {

namespace {

void log(cluster_pointer self, const std::string& text) {
  log_info("cluster", text, {text_field("node", self->state.settings.self_name)});
}

std::string comma_separated(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names)
    out += (out.empty() ? "" : ", ") + name;
  return out;
}

/// Retires every local session: they reload from Redis on their next
/// request, under a fresh claim.
void retire_all_sessions(cluster_pointer self) {
  self->send(self->state.registry, retire_atom::value,
             std::vector<std::string>{}, self->state.settings.self_name);
}

/// Recomputes the members. When one left, the sessions it owned move here
/// or elsewhere and nothing local moves away. When one joined, it may have
/// served sessions this node still holds in memory (a partition, a pause):
/// every local session is retired, so no stale copy answers a read.
void membership_changed(cluster_pointer self, bool peer_joined) {
  auto& st = self->state;
  st.members = {st.settings.self_name};
  for (const auto& entry : st.peers)
    st.members.push_back(entry.first);
  std::sort(st.members.begin(), st.members.end());
  metrics::global().cluster_members.set(
    static_cast<int64_t>(st.members.size()));
  log(self, "members now " + comma_separated(st.members));
  if (peer_joined)
    retire_all_sessions(self);
  else
    self->send(st.registry, retire_atom::value, st.members,
               st.settings.self_name);
}

/// A node that was paused (or starved) for about the failure timeout may
/// have been declared dead by its peers, which may have taken its sessions
/// over: its in-memory sessions can no longer be trusted. A peer's
/// heartbeat can time out after a pause a little shorter than the failure
/// timeout, hence half of it as the bound.
void check_lease(cluster_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto silent = now - st.last_tick;
  st.last_tick = now;
  if (silent > st.settings.failure_timeout / 2) {
    log(self, "paused for "
                + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   silent).count())
                + " ms; dropping every local session");
    retire_all_sessions(self);
  }
}

/// Takes the peer out of the membership; false when it was gone already or
/// `handle` is an older connection. `name` is a copy: callers may pass the
/// key of the entry erased here.
bool drop_peer(cluster_pointer self, std::string name,
               const caf::actor_addr& handle, const std::string& why) {
  auto it = self->state.peers.find(name);
  if (it == self->state.peers.end() || it->second.handle.address() != handle)
    return false;
  self->demonitor(handle);
  self->state.peers.erase(it);
  log(self, name + " left (" + why + ")");
  membership_changed(self, false);
  return true;
}

} // namespace

void peer_failed(cluster_pointer self, std::string name,
                 const caf::actor_addr& handle, const std::string& why) {
  if (drop_peer(self, name, handle, why))
    abandon_forwards(self, name);
}

void heartbeat_round(cluster_pointer self) {
  check_lease(self);
  auto& st = self->state;
  for (auto& [name, peer] : st.peers) {
    auto peer_name = name;
    auto handle = peer.handle;
    self->request(handle, st.settings.failure_timeout, heartbeat_atom::value,
                  st.settings.self_name)
      .then(
        [=](const std::string&, uint64_t credits) {
          auto it = self->state.peers.find(peer_name);
          if (it != self->state.peers.end() && it->second.handle == handle)
            it->second.credits = credits;
        },
        [=](caf::error& err) {
          peer_failed(self, peer_name, handle.address(),
                    "no heartbeat: " + self->system().render(err));
        });
  }
  if (st.connector && !st.leaving) {
    std::vector<std::string> missing;
    for (const auto& name : st.settings.configured)
      if (name != st.settings.self_name && st.peers.count(name) == 0)
        missing.push_back(name);
    if (!missing.empty())
      caf::anon_send(st.connector, connect_atom::value, std::move(missing),
                     caf::actor_cast<cluster_actor>(self));
  }
  self->delayed_send(self, st.settings.heartbeat, tick_atom::value);
}

void add_peer(cluster_pointer self, const std::string& name, node_actor node) {
  auto& st = self->state;
  auto& configured = st.settings.configured;
  if (name == st.settings.self_name
      || std::find(configured.begin(), configured.end(), name) == configured.end())
    return;
  if (auto gone = st.departed.find(name); gone != st.departed.end()) {
    if (gone->second == node.node())
      return; // still shutting down
    st.departed.erase(gone); // restarted
  }
  auto it = st.peers.find(name);
  if (it != st.peers.end() && it->second.handle == node)
    return;
  if (it != st.peers.end())
    self->demonitor(it->second.handle.address());
  self->monitor(node);
  st.peers[name] = cluster_state::peer{node, 0};
  log(self, name + " joined");
  membership_changed(self, true);
}

caf::result<ok_atom> leave(cluster_pointer self) {
  auto& st = self->state;
  st.leaving = true;
  auto rp = self->make_response_promise<ok_atom>();
  if (st.peers.empty()) {
    rp.deliver(ok_atom::value);
    return rp;
  }
  log(self, "leaving the cluster");
  auto waiting = std::make_shared<std::size_t>(st.peers.size());
  auto one_done = [=]() mutable {
    if (--*waiting == 0)
      rp.deliver(ok_atom::value);
  };
  for (const auto& [name, peer] : st.peers)
    self->request(peer.handle, st.settings.failure_timeout, leave_atom::value,
                  st.settings.self_name)
      .then([=](ok_atom) mutable { one_done(); },
            [=](caf::error&) mutable { one_done(); });
  return rp;
}

void peer_leaves(cluster_pointer self, const std::string& name) {
  auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
  if (!sender)
    return;
  self->state.departed[name] = sender.node();
  drop_peer(self, name, sender, "it is shutting down");
}

caf::behavior cluster_connector(caf::event_based_actor* self,
                                std::chrono::milliseconds timeout) {
  auto pending = std::make_shared<std::set<std::string>>();
  return {
    [=](connect_atom, const std::vector<std::string>& addresses,
        const cluster_actor& requester) {
      auto middleman = self->system().middleman().actor_handle();
      for (const auto& address : addresses) {
        auto colon = address.rfind(':');
        if (colon == std::string::npos || !pending->insert(address).second)
          continue;
        auto host = address.substr(0, colon);
        auto port = static_cast<uint16_t>(std::stoul(address.substr(colon + 1)));
        self->request(middleman, timeout, connect_atom::value, host, port)
          .then(
            [=](caf::node_id&, caf::strong_actor_ptr& node,
                std::set<std::string>&) {
              pending->erase(address);
              if (node)
                self->send(requester, peer_up_atom::value, address,
                           caf::actor_cast<node_actor>(node));
            },
            [=](caf::error&) { pending->erase(address); });
      }
    },
  };
}

} // namespace motorhead
