// The cluster node's view of the membership table in Redis: reading it,
// joining once every member is reached (and admitted once each reached
// this node back and released what moves here), adopting its views,
// declaring the silent dead, and the faults of the table itself (a reset,
// an outage, a node cut off from Redis, two nodes at one address).
#include "actors/cluster_node.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/cluster_node_internal.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/unix_time.hpp"

namespace motorhead {

namespace {

/// The table is read every heartbeat: while Redis is down, its failures
/// are logged once per burst.
void log_table_failure(const std::string& failure) {
  static burst_filter repeats;
  log_filtered(repeats, log_level::warn, "cluster", failure);
}

using store::member_row;
using store::member_status;
using store::membership_table;

std::string comma_separated(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names)
    out += (out.empty() ? "" : ", ") + name;
  return out;
}

/// Notes each member's renewals as this read shows them, on this node's
/// own clock: a count not seen before is from now.
void observe_renewals(cluster_pointer self, const membership_table& table) {
  auto& st = self->state;
  auto now = st.settings.serving->now();
  std::map<std::string, cluster_state::renewals_seen> seen;
  for (const auto& row : table.rows) {
    auto before = st.renewals.find(row.id());
    if (before != st.renewals.end() && before->second.count == row.renewals)
      seen[row.id()] = before->second;
    else
      seen[row.id()] = {row.renewals, now};
  }
  st.renewals = std::move(seen);
}

/// Whether the member `id` renewed its lease within the failure timeout,
/// as this node saw it.
bool renewed_lately(cluster_pointer self, const std::string& id) {
  auto& st = self->state;
  auto seen = st.renewals.find(id);
  return seen != st.renewals.end()
         && st.settings.serving->now() - seen->second.since
              < st.settings.failure_timeout;
}

/// Active rows of other members that have not renewed their lease for the
/// failure timeout (on this node's clock: they lost Redis, or stopped).
/// Judged only once this node's own reads have worked for that long: after
/// Redis was down, nobody renewed, and the first node back must not
/// declare the others dead.
std::vector<member_row> departed_members(cluster_pointer self,
                                         const membership_table& table) {
  auto& st = self->state;
  std::vector<member_row> departed;
  if (self->clock().now() - st.reading_since < st.settings.failure_timeout)
    return departed;
  for (const auto& row : table.rows) {
    if (row.status != member_status::active || row.id() == st.self_id())
      continue;
    if (!renewed_lately(self, row.id())) {
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
        && renewed_lately(self, row.id()))
      return row.id();
  return {};
}

/// When this node last saw the member `id` renew (now, if never).
boot_clock::time_point last_renewal_seen(cluster_pointer self,
                                         const std::string& id) {
  auto& st = self->state;
  auto seen = st.renewals.find(id);
  return seen != st.renewals.end() ? seen->second.since
                                   : st.settings.serving->now();
}

/// Members that died within the hour, seen in this node's first view: it
/// cannot know when they last renewed, so it waits a full lease from now
/// before loading what they may have owned.
void hold_for_the_dead(cluster_pointer self, const membership_table& table,
                       const std::map<std::string, std::string>& members) {
  std::vector<std::string> addresses;
  for (const auto& member : members)
    addresses.push_back(member.first);
  for (const auto& row : table.rows)
    if (row.status == member_status::dead) {
      auto before = addresses;
      before.push_back(row.address);
      hold_until_lapsed(self, row.address, std::move(before),
                        last_renewal_seen(self, row.id()));
    }
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
    log_membership(self, "admitted: the members released what moved here");
    retry_waiting(self);
  };
  for (const auto& [address, id] : st.member_ids) {
    auto peer = st.peers.find(address);
    if (address == st.settings.self_name || peer == st.peers.end())
      continue;
    ++*waiting;
    // A member that does not answer is not waited for, but what it owned
    // before this node joined is not loaded until its lease for that view
    // ran out; one that cannot reach this node keeps it out.
    auto member = address;
    self->request(peer->second.handle, st.settings.forward_timeout,
                  release_atom::value, st.version)
      .then([=](ok_atom) { one_done(); },
            [=](caf::error& err) {
              if (is_service_error(err, service_errc::owner_unreachable))
                *unreachable = self->system().render(err);
              else
                hold_until_lapsed(self, member, members_without_self(self),
                                  self->state.first_view_at);
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
  std::vector<std::string> dead;
  for (const auto& [address, id] : st.member_ids)
    if (ids.count(address) == 0 || ids.at(address) != id) {
      auto row = table.find(id);
      bool left = row != nullptr && row->status == member_status::left;
      log_membership(self, address + (left ? " left (it is shutting down)"
                                           : " left (declared dead)"));
      // One that left released every session first; a dead one may still
      // serve them until its lease runs out.
      if (!left) {
        hold_until_lapsed(self, address, st.members, last_renewal_seen(self, id));
        if (ids.count(address) == 0) // not restarted there: forwards went to it
          dead.push_back(address);
      }
    }
  if (first_view) {
    st.first_view_at = st.settings.serving->now();
    hold_for_the_dead(self, table, ids);
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
  st.settings.serving->adopt(history_of(table));
  log_membership(self, "view " + std::to_string(st.version) + ": members "
              + comma_separated(st.members));
  if (first_view) {
    st.waiting_for.clear();
    admit(self);
  } else {
    self->send(st.registry, retire_atom::value, st.members,
               st.settings.self_name);
  }
  // What was forwarded to a member that left is still answered (it
  // answers before it leaves). What was forwarded to a dead one is given
  // up on now, though its connection may stand (a paused process, a
  // one-way cut): requests that may run twice go to the new owner.
  for (const auto& address : dead)
    abandon_forwards(self, address);
  retry_waiting(self);
}

/// This node's row is no longer active (another node declared it dead
/// while it was cut off or paused): its sessions may be served elsewhere.
/// It drops them all and joins again as a new member.
void rejoin(cluster_pointer self) {
  auto& st = self->state;
  log_warn("cluster", "this node was declared dead; rejoining as a new member",
           {text_field("node", st.self_id())});
  st.settings.serving->revoke();
  retire_all_sessions(self);
  st.settings.incarnation = unix_time_us();
  st.joined = false;
  st.admitted = false;
  st.members.clear();
  st.member_ids.clear();
  st.joining_since = self->clock().now();
  metrics::global().cluster_members.set(0);
}

/// Connects once to `address` and runs `then` if `node` answers there, or
/// `fail`; tries `attempts` times. (CAF 0.17.6 gives a connection it makes
/// the time of its last message as if it had never had one, so the
/// middleman's next heartbeat tick drops it if the handshake is still
/// under way: TLS handshakes sometimes are.)
void connect_once(cluster_pointer self, std::string address,
                  caf::node_id node, int attempts, std::function<void()> then,
                  std::function<void(caf::error)> fail) {
  auto& st = self->state;
  self->request(st.connector, st.settings.failure_timeout,
                connect_atom::value, address)
    .then(
      [=](const caf::node_id& answered) {
        if (answered == node)
          then();
        else
          fail(make_error(service_errc::owner_unreachable,
                          "another node answers there"));
      },
      [=](caf::error& err) {
        if (attempts > 1)
          connect_once(self, address, node, attempts - 1, then, fail);
        else
          fail(std::move(err));
      });
}

/// Runs `then` once this node knows it can connect to the joiner `node`
/// (a member now) at the address it advertises, or `fail`. Without TLS it
/// connected there itself. With one connection per pair the joiner made
/// the connection, so this node connects there once, and the node that
/// answers must be the joiner: every node must reach that address (this
/// one should their connection fail, and nodes that join or restart later).
void reach_back(cluster_pointer self, const caf::node_id& node,
                std::function<void()> then,
                std::function<void(caf::error)> fail) {
  auto& st = self->state;
  if (!st.settings.one_connection_per_pair || !st.connector) {
    then();
    return;
  }
  auto joiner = std::find_if(st.peers.begin(), st.peers.end(),
                             [&](const auto& peer) {
                               return peer.second.handle.node() == node;
                             });
  connect_once(self, joiner->first, node, 5, std::move(then), std::move(fail));
}

/// Another Redis process answers than before (a restart, a failover): it
/// may have lost the newest renewals and declarations of death, so a
/// member declared dead may hold a lease again. Every node serves nothing
/// from memory for a full lease, so that every lease granted before ran
/// out, then goes on with the table as this Redis has it.
void notice_redis_change(cluster_pointer self, const std::string& run_id) {
  auto& st = self->state;
  bool changed = !st.redis_run_id.empty() && run_id != st.redis_run_id;
  st.redis_run_id = run_id;
  if (!changed || !st.joined)
    return;
  log_warn("cluster",
           "Redis restarted or failed over: serving nothing from memory for "
           "a lease (" + std::to_string(st.settings.lease.count()) + " ms)",
           {text_field("node", st.self_id())});
  st.settings.serving->revoke();
  retire_all_sessions(self);
  st.quarantine_until = st.settings.serving->now() + st.settings.lease;
}

/// A read of the table that was sent at `sent` succeeded.
void read_succeeded(cluster_pointer self, caf::actor_clock::time_point sent) {
  auto& st = self->state;
  st.cut_off = false;
  if (st.read_failing) {
    st.read_failing = false;
    st.reading_since = self->clock().now();
  }
  st.last_read_sent = std::max(st.last_read_sent, sent);
}

} // namespace

std::shared_ptr<const view_history> history_of(const membership_table& table) {
  auto view = std::make_shared<view_history>();
  view->version = table.version;
  view->known_since = table.known_since;
  for (const auto& row : table.rows)
    view->spans.push_back({row.address, row.joined,
                           row.status == member_status::active ? 0 : row.ended});
  return view;
}

void lease_renewed(cluster_pointer self, boot_clock::time_point sent) {
  auto& st = self->state;
  if (!st.joined || st.leaving || sent < st.quarantine_until)
    return;
  // The holder stops before the others count its lease out: clocks may
  // run at slightly different rates.
  auto margin = st.settings.lease / 20;
  st.settings.serving->renewed(st.settings.self_name, history_of(st.table),
                               sent + st.settings.lease - margin);
  retry_waiting(self);
}

void hold_until_lapsed(cluster_pointer self, const std::string& address,
                       std::vector<std::string> members_before,
                       boot_clock::time_point last_renewal) {
  auto& st = self->state;
  auto until = last_renewal + st.settings.lease;
  if (until > st.settings.serving->now())
    st.holds.push_back({address, std::move(members_before), until});
}

std::vector<std::string> members_without_self(cluster_pointer self) {
  auto members = self->state.members;
  members.erase(std::remove(members.begin(), members.end(),
                            self->state.settings.self_name),
                members.end());
  return members;
}

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
        log_table_failure("cannot write the membership table: "
                          + error_message(err));
        if (!self->state.joined)
          give_up_waiting(self, err);
      });
}

void read_table(cluster_pointer self) {
  reread_table(self, [] {}, [=](caf::error err) {
    auto why = "cannot read the membership table: " + error_message(err);
    log_table_failure(why);
    self->state.read_failing = true;
    if (!self->state.joined) {
      self->state.waiting_for = why; // what /readyz says meanwhile
      give_up_waiting(self, err);
    }
  });
}

void reread_table(cluster_pointer self, std::function<void()> then,
                  std::function<void(caf::error)> fail) {
  auto& st = self->state;
  auto sent = self->clock().now();
  // The lease runs from when its renewal is sent.
  auto renewal_sent = st.settings.serving->now();
  auto held = st.joined ? st.version : 0;
  self->request(st.store, st.settings.failure_timeout, members_atom::value,
                st.joined ? st.self_id() : std::string{}, held)
    .then(
      [=](membership_table& table) {
        read_succeeded(self, sent);
        notice_redis_change(self, table.redis_run_id);
        bool renewed = table.renewed;
        auto version = table.version;
        table_read(self, std::move(table));
        auto& st = self->state;
        if (renewed)
          lease_renewed(self, renewal_sent);
        else if (st.joined && version != held && st.version == version)
          read_table(self); // renew under the view just adopted
        then();
      },
      [=](caf::error& err) { fail(std::move(err)); });
}

void table_read(cluster_pointer self, membership_table table) {
  auto& st = self->state;
  // Replies come in order (one connection, one slot): a lower version is
  // a table that was reset (Redis restarted empty, or failed over to a
  // replica that lagged), and is taken as it is.
  observe_renewals(self, table);
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
      log_membership(self, row.id() + " declared dead (no lease renewal in Redis)");
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
  if (!st.joined || st.cut_off
      || self->clock().now() - st.last_read_sent < st.settings.failure_timeout / 2)
    return;
  log_warn("cluster",
           members_without_self(self).empty()
             ? "cannot read the membership table in Redis: serving no "
               "session until it can"
             : "cannot read the membership table in Redis: serving no "
               "session itself until it can, forwarding each to its owner "
               "among the others (they will declare this node dead)",
           {text_field("node", st.self_id())});
  st.settings.serving->revoke();
  retire_all_sessions(self);
  st.cut_off = true;
  retry_waiting(self);
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
    auto unreachable = [=](caf::error why) mutable {
      rp.deliver(make_error(service_errc::owner_unreachable,
                            "the member " + self->state.settings.self_name
                              + " cannot reach this node at the address "
                                "it advertises: "
                              + self->system().render(why)));
    };
    auto reached = [=]() mutable {
      if (!sent_by_member(self, joiner))
        return false;
      reach_back(self, joiner, release, unreachable);
      return true;
    };
    if (!reached())
      wait_for(self, reached, unreachable,
               std::chrono::duration_cast<caf::timespan>(
                 self->state.settings.failure_timeout * 2));
  }, fail);
  return rp;
}

} // namespace motorhead
