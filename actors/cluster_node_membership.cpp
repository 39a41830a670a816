// The cluster node's membership: the table in Redis (read every heartbeat
// round and whenever a member says it changed), joining it once every
// active member is reached, adopting its views, writing the failures this
// node sees into it, leaving it; heartbeats to the connected nodes, the
// lease of a paused node, and the connector that reaches members and seeds.
#include "actors/cluster_node.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
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

using store::member_row;
using store::member_status;
using store::membership_table;

void log(cluster_pointer self, const std::string& text) {
  log_info("cluster", text, {text_field("node", self->state.self_id())});
}

std::string comma_separated(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names)
    out += (out.empty() ? "" : ", ") + name;
  return out;
}

uint64_t microseconds_since_epoch() {
  using namespace std::chrono;
  return static_cast<uint64_t>(
    duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
}

/// Retires every local session: they reload from Redis on their next
/// request, under a fresh claim.
void retire_all_sessions(cluster_pointer self) {
  self->send(self->state.registry, retire_atom::value,
             std::vector<std::string>{}, self->state.settings.self_name);
}

/// This node's row, as it is to be written with `status`.
member_row own_row(cluster_pointer self, member_status status) {
  member_row row;
  row.address = self->state.settings.self_name;
  row.incarnation = self->state.settings.incarnation;
  row.status = status;
  return row;
}

/// Tells every connected node that the table changed, so that it reads it
/// now rather than at its next heartbeat round.
void announce_change(cluster_pointer self) {
  for (const auto& [address, peer] : self->state.peers)
    self->send(peer.handle, members_atom::value);
}

/// Writes `rows` into the table if it is still at `expected`, then reads
/// it again (whether the write landed or another node's came first).
void write_rows(cluster_pointer self, uint64_t expected,
                std::vector<member_row> rows) {
  auto& st = self->state;
  self->request(st.store, st.settings.failure_timeout, members_atom::value,
                expected, std::move(rows))
    .then(
      [=](const store::membership_write_result& result) {
        if (result.written)
          announce_change(self);
        read_table(self);
      },
      [=](caf::error& err) {
        log_warn("cluster", "cannot write the membership table: "
                              + self->system().render(err));
        if (!self->state.joined)
          give_up_waiting(self, err);
      });
}

/// Active rows of other members with no sign of life for the failure
/// timeout (on Redis' clock). Judged only once this node's own reads have
/// worked for that long: after Redis was down, everyone's last sign of
/// life is old, and the first node back must not declare the others dead.
std::vector<member_row> departed_members(cluster_pointer self,
                                         const membership_table& table) {
  auto& st = self->state;
  auto silent_after = st.settings.failure_timeout.count();
  std::vector<member_row> departed;
  if (self->clock().now() - st.reading_since < st.settings.failure_timeout)
    return departed;
  for (const auto& row : table.rows) {
    if (row.status != member_status::active || row.id() == st.self_id())
      continue;
    if (table.now_ms - row.alive_ms > silent_after) {
      auto dead = row;
      dead.status = member_status::dead;
      departed.push_back(dead);
    }
  }
  return departed;
}

/// Another live process's active row at this node's address (a restart
/// whose old row has not gone silent yet, or two nodes configured with
/// one address), or "".
std::string live_namesake(cluster_pointer self, const membership_table& table) {
  auto& st = self->state;
  for (const auto& row : table.rows)
    if (row.status == member_status::active
        && row.address == st.settings.self_name && row.id() != st.self_id()
        && table.now_ms - row.alive_ms <= st.settings.failure_timeout.count())
      return row.id();
  return {};
}

/// This node does not join, for `why`: it says so once the failure
/// timeout has passed since it began to join (a restarted node's old row
/// goes silent within it), and fails the requests waiting for the join.
void refuse_to_join(cluster_pointer self, const std::string& why) {
  auto& st = self->state;
  if (self->clock().now() - st.joining_since < st.settings.failure_timeout * 2)
    return;
  if (why != st.waiting_for)
    log_warn("cluster", "not ready: " + why, {text_field("node", st.self_id())});
  st.waiting_for = why;
  give_up_waiting(self, make_error(service_errc::not_member, why));
}

/// Joins the table once every active member is reached (connected, and
/// answering as the member the table lists at its address); until then,
/// and after the failure timeout, says which members it cannot reach.
void try_join(cluster_pointer self, const membership_table& table) {
  auto& st = self->state;
  if (self->clock().now() < st.join_again_at)
    return; // withdrawn: its waiting_for says why

  std::vector<std::string> unreached;
  for (const auto& row : table.rows) {
    if (row.status != member_status::active || row.id() == st.self_id())
      continue;
    auto peer = st.peers.find(row.address);
    if (peer == st.peers.end() || peer->second.id != row.id())
      unreached.push_back(row.address);
  }
  if (unreached.empty()) {
    write_rows(self, table.version, {own_row(self, member_status::active)});
    return;
  }
  refuse_to_join(self,
                 "cannot reach the member"
                   + std::string{unreached.size() > 1 ? "s " : " "}
                   + comma_separated(unreached)
                   + " that share its Redis: nodes on other hosts need "
                     "MOTORHEAD_CLUSTER_ADVERTISE=host:port (the address "
                     "their peers reach them at) and, to bind to that "
                     "interface, MOTORHEAD_CLUSTER_HOST; the cluster port "
                     "must be reachable from every node");
}

/// The members of the table's view, by address, and each one's id.
std::map<std::string, std::string> active_members(const membership_table& table) {
  std::map<std::string, std::string> members;
  for (const auto& row : table.rows)
    if (row.status == member_status::active)
      members[row.address] = row.id();
  return members;
}

/// A member cannot reach this node at its advertised address: it leaves
/// the table again, says why, and tries to join again only after a while
/// (the address or the network may be fixed meanwhile).
void withdraw(cluster_pointer self, const std::string& why) {
  auto& st = self->state;
  auto message = "a member cannot reach this node at "
                 + st.settings.self_name
                 + ": set MOTORHEAD_CLUSTER_ADVERTISE to the host:port the "
                   "other nodes reach it at (and MOTORHEAD_CLUSTER_HOST to "
                   "bind that interface) (" + why + ")";
  log_warn("cluster", "not ready: " + message,
           {text_field("node", st.self_id())});
  st.waiting_for = message;
  st.join_again_at = self->clock().now() + st.settings.failure_timeout * 10;
  write_rows(self, st.table.version, {own_row(self, member_status::left)});
  give_up_waiting(self, make_error(service_errc::not_member, message));
}

/// This node just joined: it loads no session before every other member
/// released those that moved to it (or failed to answer within the
/// failure timeout: then the fence keeps their writes out).
void admit(cluster_pointer self) {
  auto& st = self->state;
  auto waiting = std::make_shared<std::size_t>(0);
  auto unreachable = std::make_shared<std::string>();
  auto incarnation = st.settings.incarnation;
  auto one_done = [=]() {
    // Answers to an earlier incarnation's admission admit nothing.
    if (--*waiting > 0 || self->state.settings.incarnation != incarnation
        || !self->state.joined)
      return;
    if (!unreachable->empty()) {
      withdraw(self, *unreachable);
      return;
    }
    self->state.admitted = true;
    log(self, "admitted: the members released what moved here");
    retry_waiting(self);
  };
  for (const auto& [address, id] : st.member_ids) {
    auto peer = st.peers.find(address);
    if (address == st.settings.self_name || peer == st.peers.end())
      continue;
    ++*waiting;
    // A member that does not answer is not waited for (the fence keeps its
    // late writes out); one that cannot reach this node keeps it out.
    self->request(peer->second.handle, st.settings.forward_timeout,
                  release_atom::value, st.version)
      .then([=](ok_atom) { one_done(); },
            [=](caf::error& err) {
              if (is_service_error(err, service_errc::owner_unreachable))
                *unreachable = self->system().render(err);
              one_done();
            });
  }
  if (*waiting == 0) {
    st.admitted = true;
    retry_waiting(self);
  }
}

/// Takes the table's view: the sessions owned elsewhere now are retired,
/// and no other; a node that just joined waits to be admitted.
void adopt_view(cluster_pointer self, const membership_table& table) {
  auto& st = self->state;
  auto ids = active_members(table);
  if (table.version == st.version && ids == st.member_ids)
    return;
  bool first_view = st.members.empty();
  for (const auto& [address, id] : st.member_ids)
    if (ids.count(address) == 0 || ids.at(address) != id) {
      auto row = table.find(id);
      log(self, address + (row != nullptr && row->status == member_status::left
                             ? " left (it is shutting down)"
                             : " left (declared dead)"));
    }
  st.member_ids = std::move(ids);
  st.version = table.version;
  st.members.clear();
  for (const auto& entry : st.member_ids)
    st.members.push_back(entry.first);
  metrics::global().cluster_members.set(
    static_cast<int64_t>(st.members.size()));
  metrics::global().cluster_view_version.set(
    static_cast<int64_t>(st.version));
  log(self, "view " + std::to_string(st.version) + ": members "
              + comma_separated(st.members));
  if (first_view) {
    st.waiting_for.clear();
    admit(self);
  } else {
    self->send(st.registry, retire_atom::value, st.members,
               st.settings.self_name);
  }
  // What was forwarded to a member that left is still answered (it
  // answers before it leaves); a member that failed was given up on when
  // its connection did.
  retry_waiting(self);
}

/// This node's row is no longer active (another node declared it dead
/// while it was cut off or paused): its sessions may be served elsewhere.
/// It drops them all and joins again as a new member.
void rejoin(cluster_pointer self) {
  auto& st = self->state;
  log_warn("cluster", "this node was declared dead; rejoining as a new member",
           {text_field("node", st.self_id())});
  retire_all_sessions(self);
  st.settings.incarnation = microseconds_since_epoch();
  st.joined = false;
  st.admitted = false;
  st.members.clear();
  st.member_ids.clear();
  st.joining_since = self->clock().now();
  metrics::global().cluster_members.set(0);
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

/// Forgets the connection to `address` if `handle` is still it; false when
/// it was gone already or is an older connection.
bool drop_peer(cluster_pointer self, const std::string& address,
               const caf::actor_addr& handle, const std::string& why) {
  auto it = self->state.peers.find(address);
  if (it == self->state.peers.end() || it->second.handle.address() != handle)
    return false;
  self->demonitor(handle);
  self->state.peers.erase(it);
  log(self, address + " disconnected (" + why + ")");
  return true;
}

/// The addresses to connect to: the active members of the last table read
/// and the seeds, but not this node, nor one connected already.
std::vector<std::string> addresses_to_reach(cluster_pointer self) {
  auto& st = self->state;
  std::set<std::string> wanted(st.settings.seeds.begin(),
                               st.settings.seeds.end());
  for (const auto& row : st.table.rows)
    if (row.status == member_status::active)
      wanted.insert(row.address);
  std::vector<std::string> missing;
  for (const auto& address : wanted)
    if (address != st.settings.self_name && st.peers.count(address) == 0)
      missing.push_back(address);
  return missing;
}

void heartbeat_peers(cluster_pointer self) {
  auto& st = self->state;
  for (auto& [address, peer] : st.peers) {
    auto peer_address = address;
    auto handle = peer.handle;
    self->request(handle, st.settings.failure_timeout, heartbeat_atom::value,
                  st.settings.self_name)
      .then(
        [=](const std::string& id, uint64_t credits) {
          auto it = self->state.peers.find(peer_address);
          if (it == self->state.peers.end() || it->second.handle != handle)
            return;
          // A new answer (or a restarted process's new id) may be what a
          // waiting request waits for.
          bool new_identity = it->second.id != id;
          it->second.id = id;
          it->second.credits = credits;
          if (new_identity)
            retry_waiting(self);
        },
        [=](caf::error& err) {
          peer_failed(self, peer_address, handle.address(),
                      "no heartbeat: " + self->system().render(err));
        });
  }
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
          self->request(self->state.store, self->state.settings.failure_timeout,
                        members_atom::value, std::string{})
            .then(
              [=](membership_table& table) mutable {
                self->state.table = std::move(table);
                write_leave(self, rp, attempts - 1);
              },
              [=](caf::error&) mutable { rp.deliver(ok_atom::value); });
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

/// A read of the table that was sent at `sent` succeeded.
void read_succeeded(cluster_pointer self, caf::actor_clock::time_point sent) {
  auto& st = self->state;
  if (st.read_failing) {
    st.read_failing = false;
    st.reading_since = self->clock().now();
  }
  st.last_read_sent = std::max(st.last_read_sent, sent);
}

/// Connects to the members and seeds not connected yet.
void reach_out(cluster_pointer self) {
  auto& st = self->state;
  if (!st.connector || st.leaving)
    return;
  auto missing = addresses_to_reach(self);
  if (!missing.empty())
    caf::anon_send(st.connector, connect_atom::value, std::move(missing),
                   caf::actor_cast<cluster_actor>(self));
}

} // namespace

std::string cluster_state::self_id() const {
  return settings.self_name + "/" + std::to_string(settings.incarnation);
}

void read_table(cluster_pointer self) {
  auto& st = self->state;
  auto reader = st.joined ? st.self_id() : std::string{};
  auto sent = self->clock().now();
  self->request(st.store, st.settings.failure_timeout, members_atom::value,
                reader)
    .then(
      [=](membership_table& table) {
        read_succeeded(self, sent);
        table_read(self, std::move(table));
      },
      [=](caf::error& err) {
        log_warn("cluster", "cannot read the membership table: "
                              + self->system().render(err));
        self->state.read_failing = true;
        if (!self->state.joined)
          give_up_waiting(self, err);
      });
}

void reread_table(cluster_pointer self, std::function<void()> then,
                  std::function<void(caf::error)> fail) {
  auto& st = self->state;
  auto sent = self->clock().now();
  self->request(st.store, st.settings.failure_timeout, members_atom::value,
                st.joined ? st.self_id() : std::string{})
    .then(
      [=](membership_table& table) {
        read_succeeded(self, sent);
        table_read(self, std::move(table));
        then();
      },
      [=](caf::error& err) { fail(std::move(err)); });
}

void table_read(cluster_pointer self, membership_table table) {
  auto& st = self->state;
  // Replies come in order (one connection, one slot): a lower version is
  // a table that was reset (Redis restarted empty, or failed over to a
  // replica that lagged), and is taken as it is.
  st.table = std::move(table);
  reach_out(self);
  const auto& current = st.table;
  auto mine = current.find(st.self_id());
  bool active = mine != nullptr && mine->status == member_status::active;
  // Declared dead, or the row is gone: join again as a new member.
  if ((st.joined || mine != nullptr) && !active && !st.leaving) {
    rejoin(self);
    mine = nullptr;
  }
  st.joined = active;
  if (st.leaving)
    return;
  if (!active) {
    if (auto other = live_namesake(self, current); !other.empty()) {
      refuse_to_join(self, "the member " + other + " advertises this node's "
                             "address too: every node needs an address of "
                             "its own (MOTORHEAD_CLUSTER_ADVERTISE)");
      return;
    }
  }
  if (auto departed = departed_members(self, current); !departed.empty()) {
    for (const auto& row : departed)
      log(self, row.id() + " declared dead (no sign of life in Redis)");
    write_rows(self, current.version, std::move(departed));
    return;
  }
  if (!active) {
    try_join(self, current);
    return;
  }
  adopt_view(self, current);
}

void suspend_if_cut_off(cluster_pointer self) {
  auto& st = self->state;
  if (!st.joined
      || self->clock().now() - st.last_read_sent < st.settings.failure_timeout / 2)
    return;
  log_warn("cluster",
           "cannot read the membership table in Redis: serving no session "
           "until it can (the others may declare this node dead)",
           {text_field("node", st.self_id())});
  retire_all_sessions(self);
  st.joined = false;
  st.admitted = false;
  st.members.clear();
  st.member_ids.clear();
  metrics::global().cluster_members.set(0);
  // Requests wait for the next read (within their timeout) rather than
  // fail: a read that works again ends this.
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
  auto row = st.table.find(failed_id);
  if (row == nullptr || row->status != member_status::active)
    return;
  auto dead = *row;
  dead.status = member_status::dead;
  log(self, dead.id() + " declared dead (" + why + ")");
  write_rows(self, st.table.version, {dead});
}

void heartbeat_round(cluster_pointer self) {
  check_lease(self);
  suspend_if_cut_off(self);
  read_table(self);
  heartbeat_peers(self);
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
  st.peers[address] = cluster_state::peer{node, known_id, 0};
  log(self, address + " connected");
  heartbeat_peers(self); // learns who it is, without waiting for the round
}

namespace {

/// Whether the connection to `address` is to the member the view lists
/// there (it answered with that member's id).
bool is_member_connection(const cluster_state& st, const std::string& address,
                          const cluster_state::peer& peer) {
  auto member = st.member_ids.find(address);
  return member != st.member_ids.end() && peer.id == member->second;
}

} // namespace

bool member_reached(cluster_pointer self, const std::string& address) {
  auto& st = self->state;
  auto peer = st.peers.find(address);
  return peer != st.peers.end() && !peer->second.leaving
         && is_member_connection(st, address, peer->second);
}

bool sent_by_member(cluster_pointer self, const caf::node_id& node) {
  auto& st = self->state;
  for (const auto& [address, peer] : st.peers)
    if (peer.handle.node() == node)
      return is_member_connection(st, address, peer);
  return false;
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
  auto owner = owner_of(id, st.members);
  return owner == st.settings.self_name ? st.admitted
                                        : member_reached(self, owner);
}

caf::result<ok_atom> release_moved(cluster_pointer self, uint64_t version) {
  if (!self->current_sender())
    return make_error(service_errc::not_member, "an anonymous message");
  // Before the promise: making it takes the sender out of the message.
  auto joiner = self->current_sender()->node();
  auto rp = self->make_response_promise<ok_atom>();
  auto fail = [=](caf::error err) mutable { rp.deliver(std::move(err)); };
  auto release = [=]() mutable {
    auto& st = self->state;
    self->request(st.registry, st.settings.failure_timeout,
                  release_atom::value, st.members, st.settings.self_name)
      .then([=](ok_atom) mutable { rp.deliver(ok_atom::value); }, fail);
  };
  reread_table(self, [=]() mutable {
    auto& st = self->state;
    if (st.version < version) {
      rp.deliver(make_error(service_errc::moved,
                            "this node has not seen view "
                              + std::to_string(version) + " yet"));
      return;
    }
    // The joiner is admitted only once this node reached it at the address
    // it advertises: else neither could forward to the other.
    auto reached = [=]() mutable {
      if (!sent_by_member(self, joiner))
        return false;
      release();
      return true;
    };
    if (!reached())
      wait_for(
        self, reached,
        [=](caf::error) mutable {
          rp.deliver(make_error(service_errc::owner_unreachable,
                                "the member " + self->state.settings.self_name
                                  + " cannot reach this node at the address "
                                    "it advertises"));
        },
        std::chrono::duration_cast<caf::timespan>(
          self->state.settings.failure_timeout * 2));
  }, fail);
  return rp;
}

caf::result<ok_atom> leave(cluster_pointer self) {
  auto& st = self->state;
  st.leaving = true;
  auto rp = self->make_response_promise<ok_atom>();
  if (!st.joined) {
    rp.deliver(ok_atom::value);
    return rp;
  }
  log(self, "leaving the cluster");
  // Every session is released (its writes landed) before the table says
  // this node left: its new owner loads it only then.
  self->request(st.registry, st.settings.failure_timeout, release_atom::value,
                std::vector<std::string>{}, st.settings.self_name)
    .then([=](ok_atom) mutable { write_leave(self, rp, 3); },
          [=](caf::error&) mutable { write_leave(self, rp, 3); });
  return rp;
}

caf::result<ok_atom> member_left(cluster_pointer self) {
  auto rp = self->make_response_promise<ok_atom>();
  auto done = [=](auto&&...) mutable { rp.deliver(ok_atom::value); };
  reread_table(self, done, done);
  return rp;
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
        auto port = static_cast<uint16_t>(
          std::strtoul(address.c_str() + colon + 1, nullptr, 10));
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
