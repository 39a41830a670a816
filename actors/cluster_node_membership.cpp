// The cluster node's membership: the connections to the other nodes
// (heartbeats, failures, the connector that reaches members and seeds),
// which of them are members, this node's lease and its leave. The table in
// Redis, joining and views are in cluster_node_table.cpp.
#include "actors/cluster_node.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/cluster_node_internal.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/text.hpp"

namespace motorhead {

namespace {

using store::member_row;

/// "host:port" or "[v6]:port" as host and port; an empty host when it is
/// not so.
std::pair<std::string, uint16_t> split_address(const std::string& address) {
  auto parts = split_host_port(address);
  if (!parts)
    return {};
  return {std::string{parts->first},
          static_cast<uint16_t>(
            std::strtoul(std::string{parts->second}.c_str(), nullptr, 10))};
}
using store::member_status;
using store::membership_table;

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
    log_membership(self, "paused for "
                + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   silent).count())
                + " ms; dropping every local session");
    retire_all_sessions(self);
  }
}

/// Forgets the connection to `address` if `handle` is still it; false when
/// it was gone already or is an older connection.
bool drop_peer(cluster_pointer self, const std::string& address,
               const caf::actor_addr& handle, const std::string& why) {
  auto it = self->state.peers.find(address);
  if (it == self->state.peers.end() || it->second.handle.address() != handle)
    return false;
  self->demonitor(handle);
  self->state.peers.erase(it);
  log_membership(self, address + " disconnected (" + why + ")");
  return true;
}

/// Whether this node waits for the node at `address` to connect rather
/// than connecting itself (see cluster_settings::one_connection_per_pair).
bool waits_to_be_reached(const cluster_state& st, const std::string& address) {
  return st.settings.one_connection_per_pair && st.joined
         && address < st.settings.self_name;
}

/// The addresses to connect to: the active members of the last table read
/// and the seeds, but not this node, nor one connected already, nor one
/// that connects to this node.
std::vector<std::string> addresses_to_reach(cluster_pointer self) {
  auto& st = self->state;
  std::set<std::string> wanted;
  if (!st.settings.one_connection_per_pair)
    wanted.insert(st.settings.seeds.begin(), st.settings.seeds.end());
  for (const auto& row : st.table.rows)
    if (row.status == member_status::active)
      wanted.insert(row.address);
  std::vector<std::string> missing;
  for (const auto& address : wanted)
    if (address != st.settings.self_name && st.peers.count(address) == 0
        && !waits_to_be_reached(st, address))
      missing.push_back(address);
  return missing;
}

/// Asks the node at `address` who it is and for its credits; one that
/// does not answer in time failed.
void heartbeat(cluster_pointer self, const std::string& address,
               const node_actor& handle) {
  self->request(handle, self->state.settings.failure_timeout,
                heartbeat_atom::value, self->state.settings.self_name)
    .then(
      [=](const std::string& id, uint64_t credits) {
        auto it = self->state.peers.find(address);
        if (it == self->state.peers.end() || it->second.handle != handle)
          return;
        // A new answer (or a restarted process's new id) may be what a
        // waiting request waits for.
        bool new_identity = it->second.id != id;
        if (new_identity)
          it->second.leaving = false; // a restarted process, or a rejoin
        it->second.id = id;
        it->second.credits = credits;
        if (new_identity)
          retry_waiting(self);
      },
      [=](caf::error& err) {
        peer_failed(self, address, handle.address(),
                    "no heartbeat: " + self->system().render(err));
      });
}

/// Tells every connected node this one left the table; answers `rp` once
/// each read the table or failed to.
void tell_peers_we_left(cluster_pointer self,
                        caf::typed_response_promise<ok_atom> rp) {
  auto& st = self->state;
  if (st.peers.empty()) {
    rp.deliver(ok_atom::value);
    return;
  }
  auto waiting = std::make_shared<std::size_t>(st.peers.size());
  auto one_done = [=]() mutable {
    if (--*waiting == 0)
      rp.deliver(ok_atom::value);
  };
  for (const auto& [address, peer] : st.peers)
    self->request(peer.handle, st.settings.failure_timeout, leave_atom::value,
                  st.settings.self_name)
      .then([=](ok_atom) mutable { one_done(); },
            [=](caf::error&) mutable { one_done(); });
}

/// Writes this node's row as left, reading the table again and retrying
/// when another change came first, at most `attempts` times.
void write_leave(cluster_pointer self, caf::typed_response_promise<ok_atom> rp,
                 int attempts) {
  auto& st = self->state;
  self->request(st.store, st.settings.failure_timeout, members_atom::value,
                st.table.version,
                std::vector<member_row>{own_row(self, member_status::left)})
    .then(
      [=](const store::membership_write_result& result) mutable {
        if (!result.written && attempts > 1) {
          // Another change came first: read the table, and try again.
          reread_table(
            self, [=]() mutable { write_leave(self, rp, attempts - 1); },
            [=](caf::error) mutable { rp.deliver(ok_atom::value); });
          return;
        }
        tell_peers_we_left(self, rp);
      },
      [=](caf::error& err) mutable {
        log_warn("cluster", "cannot write this node's leave: "
                              + self->system().render(err));
        tell_peers_we_left(self, rp);
      });
}

/// Suspects each member of the view this node has not reached (connected,
/// answering as that member) for the failure timeout.
void suspect_the_unreached(cluster_pointer self) {
  auto& st = self->state;
  auto now = st.settings.serving->now();
  std::map<std::string, boot_clock::time_point> unreached;
  for (const auto& [address, id] : st.member_ids) {
    if (address == st.settings.self_name)
      continue;
    if (member_reached(self, address)) {
      st.reached_ids.insert(id);
      continue;
    }
    auto since = st.unreached_since.find(id);
    auto from = since != st.unreached_since.end() ? since->second : now;
    unreached[id] = from;
    // A joiner never reached withdraws itself once its admission failed
    // (two failure timeouts): it is suspected only after that.
    auto patience = st.reached_ids.count(id) > 0
                      ? st.settings.failure_timeout
                      : st.settings.failure_timeout * 3;
    if (now - from >= patience)
      suspect(self, id, "not reached for "
                          + std::to_string(st.settings.failure_timeout.count())
                          + " ms");
  }
  st.unreached_since = std::move(unreached);
}

/// Forgets the holds whose lease ran out.
void drop_lapsed_holds(cluster_pointer self) {
  auto& st = self->state;
  auto now = st.settings.serving->now();
  st.holds.erase(std::remove_if(st.holds.begin(), st.holds.end(),
                                [&](const cluster_state::hold& hold) {
                                  return hold.until <= now;
                                }),
                 st.holds.end());
}

} // namespace

void announce_change(cluster_pointer self) {
  for (const auto& [address, peer] : self->state.peers)
    self->send(peer.handle, members_atom::value);
}

void log_membership(cluster_pointer self, const std::string& text) {
  log_info("cluster", text, {text_field("node", self->state.self_id())});
}

void retire_all_sessions(cluster_pointer self) {
  self->send(self->state.registry, retire_atom::value,
             std::vector<std::string>{}, self->state.settings.self_name);
}

member_row own_row(cluster_pointer self, member_status status) {
  member_row row;
  row.address = self->state.settings.self_name;
  row.incarnation = self->state.settings.incarnation;
  row.status = status;
  return row;
}

void reach_out(cluster_pointer self) {
  auto& st = self->state;
  if (!st.connector || st.leaving)
    return;
  auto missing = addresses_to_reach(self);
  if (!missing.empty())
    caf::anon_send(st.connector, connect_atom::value, std::move(missing),
                   caf::actor_cast<cluster_actor>(self));
}

std::string cluster_state::self_id() const {
  return settings.self_name + "/" + std::to_string(settings.incarnation);
}

void peer_failed(cluster_pointer self, std::string address,
                 const caf::actor_addr& handle, const std::string& why) {
  auto& st = self->state;
  auto peer = st.peers.find(address);
  // The member that connection answered as, not whoever the table lists
  // at the address now (a restarted process's new row).
  auto failed_id = peer != st.peers.end() ? peer->second.id : std::string{};
  if (!drop_peer(self, address, handle, why))
    return;
  abandon_forwards(self, address);
  if (failed_id.empty() || st.leaving)
    return;
  suspect(self, failed_id, why);
}

void suspect(cluster_pointer self, const std::string& id,
             const std::string& why) {
  auto& st = self->state;
  auto row = st.table.find(id);
  if (!st.joined || st.leaving || row == nullptr
      || row->status != member_status::active)
    return;
  log_membership(self, "suspects " + id + " (" + why + ")");
  // A suspicion counts for the failure timeout: the suspecter renews it
  // every heartbeat round while the member stays out of reach.
  self->request(st.store, st.settings.failure_timeout, suspect_atom::value,
                st.table.version, id, st.self_id(),
                static_cast<int64_t>(st.settings.failure_timeout.count()))
    .then(
      [=](const store::membership_suspect_result& result) {
        if (result.declared_dead) {
          log_membership(self, id + " declared dead (suspected by a "
                                    "majority of the members)");
          announce_change(self);
        }
        if (result.declared_dead || !result.recorded)
          read_table(self);
      },
      [=](caf::error& err) {
        log_warn("cluster", "cannot record a suspicion: "
                              + self->system().render(err));
      });
}

void heartbeat_round(cluster_pointer self) {
  check_lease(self);
  suspend_if_cut_off(self);
  read_table(self);
  for (const auto& [address, peer] : self->state.peers)
    heartbeat(self, address, peer.handle);
  forget_old_leaves(self);
  suspect_the_unreached(self);
  drop_lapsed_holds(self);
  retry_waiting(self);
  expire_waiting(self);
  reach_out(self);
  self->delayed_send(self, self->state.settings.heartbeat, tick_atom::value);
}

void add_peer(cluster_pointer self, const std::string& address,
              node_actor node) {
  auto& st = self->state;
  if (address == st.settings.self_name || st.leaving)
    return;
  auto it = st.peers.find(address);
  if (it != st.peers.end() && it->second.handle == node)
    return;
  // A newer connection to the same process keeps the identity it proved.
  std::string known_id;
  if (it != st.peers.end()) {
    self->demonitor(it->second.handle.address());
    if (it->second.handle.node() == node.node())
      known_id = it->second.id;
  }
  self->monitor(node);
  st.peers[address] = cluster_state::peer{node, known_id, 0, false, {}};
  log_membership(self, address + " connected");
  heartbeat(self, address, node); // who it is, without waiting for the round
}

namespace {

/// Whether the connection to `address` is to the member the view lists
/// there (it answered with that member's id).
bool is_member_connection(const cluster_state& st, const std::string& address,
                          const cluster_state::peer& peer) {
  auto member = st.member_ids.find(address);
  return member != st.member_ids.end() && peer.id == member->second;
}

/// The connected peer whose process is `node`, or the end of the peers.
auto peer_of_node(cluster_state& st, const caf::node_id& node) {
  return std::find_if(st.peers.begin(), st.peers.end(), [&](const auto& entry) {
    return entry.second.handle.node() == node;
  });
}

} // namespace

void take_connection(cluster_pointer self, const std::string& address) {
  auto& st = self->state;
  auto sender = self->current_sender();
  if (!st.settings.one_connection_per_pair || !sender
      || sender->node() == self->node())
    return;
  auto known = st.peers.find(address);
  if (known == st.peers.end())
    add_peer(self, address, caf::actor_cast<node_actor>(sender));
  else if (known->second.handle.node() != sender->node()
           && !is_member_connection(st, address, known->second))
    // Another process at that address (a restart): the new one is taken
    // once the old one is no member's. A second live process naming the
    // address (a misconfiguration the table refuses) does not take a
    // member's connection away.
    add_peer(self, address, caf::actor_cast<node_actor>(sender));
}

bool member_reached(cluster_pointer self, const std::string& address) {
  auto& st = self->state;
  auto peer = st.peers.find(address);
  return peer != st.peers.end() && !peer->second.leaving
         && is_member_connection(st, address, peer->second);
}

bool sent_by_member(cluster_pointer self, const caf::node_id& node) {
  auto& st = self->state;
  auto peer = peer_of_node(st, node);
  return peer != st.peers.end()
         && is_member_connection(st, peer->first, peer->second);
}

bool sent_by_known_node(cluster_pointer self, const caf::node_id& node) {
  auto& st = self->state;
  auto peer = peer_of_node(st, node);
  return peer != st.peers.end() && !peer->second.id.empty()
         && st.table.find(peer->second.id) != nullptr;
}

bool from_member(cluster_pointer self) {
  auto sender = self->current_sender();
  return sender && sent_by_member(self, sender->node());
}

bool may_become_member(cluster_pointer self) {
  auto& st = self->state;
  for (const auto& row : st.table.rows)
    if (row.status == member_status::active && row.id() != st.self_id()) {
      auto peer = st.peers.find(row.address);
      if (peer == st.peers.end() || peer->second.id != row.id())
        return true;
    }
  return false;
}

bool can_route(cluster_pointer self, const std::string& id) {
  auto& st = self->state;
  if (!st.joined || st.members.empty())
    return false;
  auto owner = route_owner(self, id);
  if (owner.empty())
    return false;
  if (owner == st.settings.self_name)
    return may_serve_here(self, id);
  return member_reached(self, owner) || !relay_for(self, owner).empty();
}

std::string relay_for(cluster_pointer self, const std::string& owner) {
  auto& st = self->state;
  auto peer = st.peers.find(owner);
  if (st.member_ids.count(owner) == 0
      || (peer != st.peers.end() && peer->second.leaving))
    return {};
  for (const auto& member : st.members)
    if (member != owner && member != st.settings.self_name
        && member_reached(self, member))
      return member;
  return {};
}

std::string route_owner(cluster_pointer self, const std::string& id) {
  auto& st = self->state;
  return st.cut_off ? owner_of(id, members_without_self(self))
                    : owner_of(id, st.members);
}

bool held(cluster_pointer self, const std::string& id) {
  auto& st = self->state;
  if (st.holds.empty())
    return false;
  auto now = st.settings.serving->now();
  for (const auto& hold : st.holds)
    if (hold.until > now && owner_of(id, hold.members_before) == hold.address)
      return true;
  return false;
}

bool may_serve_here(cluster_pointer self, const std::string& id) {
  auto& st = self->state;
  return st.admitted && st.settings.serving->valid() && !held(self, id)
         && st.settings.serving->now() >= st.quarantine_until;
}

caf::result<ok_atom> leave(cluster_pointer self) {
  auto& st = self->state;
  st.leaving = true;
  auto rp = self->make_response_promise<ok_atom>();
  if (!st.joined) {
    rp.deliver(ok_atom::value);
    return rp;
  }
  log_membership(self, "leaving the cluster");
  // Every session is released (its writes landed) before the table says
  // this node left: its new owner loads it only then.
  auto then_leave = [=](auto&&...) mutable {
    self->state.settings.serving->revoke();
    write_leave(self, rp, 3);
  };
  self->request(st.registry, st.settings.failure_timeout, release_atom::value,
                std::vector<std::string>{}, st.settings.self_name)
    .then([=](ok_atom) mutable { then_leave(); },
          [=](caf::error&) mutable { then_leave(); });
  return rp;
}

caf::result<ok_atom> member_left(cluster_pointer self) {
  auto rp = self->make_response_promise<ok_atom>();
  auto done = [=](auto&&...) mutable { rp.deliver(ok_atom::value); };
  reread_table(self, done, done);
  return rp;
}

caf::behavior cluster_connector(caf::event_based_actor* self,
                                std::chrono::milliseconds timeout, bool tls) {
  auto pending = std::make_shared<std::set<std::string>>();
  auto middleman = [self, tls] {
    return tls ? self->system().openssl_manager().actor_handle()
               : self->system().middleman().actor_handle();
  };
  return {
    [=](connect_atom, const std::vector<std::string>& addresses,
        const cluster_actor& requester) {
      for (const auto& address : addresses) {
        auto [host, port] = split_address(address);
        if (host.empty() || !pending->insert(address).second)
          continue;
        self->request(middleman(), timeout, connect_atom::value, host, port)
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
    [=](connect_atom, const std::string& address) -> caf::result<caf::node_id> {
      auto [host, port] = split_address(address);
      if (host.empty())
        return caf::make_error(caf::sec::invalid_argument, address);
      auto rp = self->make_response_promise<caf::node_id>();
      self->request(middleman(), timeout, connect_atom::value, host, port)
        .then(
          [=](caf::node_id& node, caf::strong_actor_ptr&,
              std::set<std::string>&) mutable { rp.deliver(node); },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
  };
}

} // namespace motorhead
