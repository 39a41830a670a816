// Private to the cluster node's files: what its behavior (cluster_node.cpp)
// shares with the membership, routing and credits (cluster_node_*.cpp), and
// the routing templates. Users include actors/cluster_node.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/cluster_node.hpp"
#include "actors/fan_in.hpp"
#include "core/metrics.hpp"
#include "core/rendezvous.hpp"

namespace motorhead {

// -- membership ---------------------------------------------------------------

/// Logs `text` as this node's.
void log_membership(cluster_pointer self, const std::string& text);

/// Retires every local session: they reload from Redis on their next
/// request, under a fresh claim.
void retire_all_sessions(cluster_pointer self);

/// This node's row, as it is to be written with `status`.
store::member_row own_row(cluster_pointer self, store::member_status status);

/// Writes `rows` into the table if it is still at `expected`, then reads
/// it again (whether the write landed or another node's came first).
void write_rows(cluster_pointer self, uint64_t expected,
                std::vector<store::member_row> rows);

/// The views a table read describes, for the serving lease.
std::shared_ptr<const view_history>
history_of(const store::membership_table& table);

/// A renewal sent at `sent` (on the lease's clock) succeeded: this node
/// may serve its sessions in the view until a lease from then ran out.
void lease_renewed(cluster_pointer self, boot_clock::time_point sent);

/// The sessions `address` owned among `members_before` are not loaded
/// here until a full lease from `last_renewal` (as this node saw it).
void hold_until_lapsed(cluster_pointer self, const std::string& address,
                       std::vector<std::string> members_before,
                       boot_clock::time_point last_renewal);

/// The view's members but this node.
std::vector<std::string> members_without_self(cluster_pointer self);

/// Whether a hold keeps this node from loading session `id` now.
bool held(cluster_pointer self, const std::string& id);

/// Whether this node may serve session `id` from its own registry now:
/// admitted, its lease running, no hold on the session. (That it owns the
/// session in its view is for the caller to know.)
bool may_serve_here(cluster_pointer self, const std::string& id);

/// Records this node's suspicion of the member `id` in the table: a
/// majority of the other members suspecting it declares it dead.
void suspect(cluster_pointer self, const std::string& id,
             const std::string& why);

/// Tells every connected node that the table changed, so that it reads it
/// now rather than at its next heartbeat round.
void announce_change(cluster_pointer self);

/// Connects to the members and seeds not connected yet.
void reach_out(cluster_pointer self);

/// Reads the membership table (renewing this node's lease once it is a
/// member), then acts on it (see table_read).
void read_table(cluster_pointer self);

/// Reads the table and acts on it, then runs `then`; or hands the error to
/// `fail`.
void reread_table(cluster_pointer self, std::function<void()> then,
                  std::function<void(caf::error)> fail);

/// Acts on the table as read: rejoins as a new member when this node was
/// declared dead; declares dead the members that renewed nothing for the
/// failure timeout; joins once every active member is reached; else
/// adopts the view. Connects to members not connected yet.
void table_read(cluster_pointer self, store::membership_table table);

/// A connected node failed (silent, unreachable, down): what was forwarded
/// to it is not waited for, and a member is suspected (see suspect).
/// (A member that leaves because it shuts down still answers what it was
/// sent.)
void peer_failed(cluster_pointer self, std::string address,
                 const caf::actor_addr& handle, const std::string& why);

/// One heartbeat round: checks this node's lease, reads the table, asks
/// each connected node who it is and for its credits (one that does not
/// answer in time failed), connects to members and seeds not connected,
/// gives up on requests that waited too long, schedules the next round.
void heartbeat_round(cluster_pointer self);

/// Takes a connection to the node at `address` (a newer one in place of
/// the older); it serves as a member's once it answered a heartbeat with
/// the member id the table lists at that address.
void add_peer(cluster_pointer self, const std::string& address,
              node_actor node);

/// A heartbeat from the node at `address` came over a connection it made:
/// with one connection per pair, it is taken as that node's (see
/// cluster_settings::one_connection_per_pair).
void take_connection(cluster_pointer self, const std::string& address);

/// Whether the node that sent the current message is a member of the
/// view, connected and answering as that member.
bool from_member(cluster_pointer self);

/// The scope this node gives the key a forwarded request names: the
/// sender's claim counts for nothing but the key's identity. None when
/// this node has keys and that is none of them.
std::optional<access_scope> own_scope(cluster_pointer self,
                                      const access_scope& claimed);

/// True when a message from `node` may yet turn out to be a member's: the
/// table lists active members this node has not reached yet.
bool may_become_member(cluster_pointer self);

/// Marks this node's row as left, then tells every connected node, and
/// answers once each has read the table or failed to.
caf::result<ok_atom> leave(cluster_pointer self);

/// A member that could not read the table for half the failure timeout
/// serves nothing from memory (its sessions retired, its requests wait)
/// until it reads it again: the others may declare it dead meanwhile.
void suspend_if_cut_off(cluster_pointer self);

/// A member says it left the table: answers once the table is read again.
caf::result<ok_atom> member_left(cluster_pointer self);

/// A member that joined at `version` asks this node to adopt that view and
/// release the sessions that moved to it: answered once they stopped.
caf::result<ok_atom> release_moved(cluster_pointer self, uint64_t version);

// -- waiting requests -----------------------------------------------------------

/// Holds a request until `try_now` runs it (answers true), or gives up on
/// it once it waited `at_most` (by default the forward timeout), or when
/// this node cannot join. A request that finds the list full is refused
/// at once.
void wait_for(cluster_pointer self, std::function<bool()> try_now,
              std::function<void(caf::error)> give_up,
              std::optional<caf::timespan> at_most = std::nullopt);

/// Tries every waiting request again (the view or a connection changed).
void retry_waiting(cluster_pointer self);

/// Gives up on the waiting requests that waited the forward timeout, or on
/// all of them with `why`.
void expire_waiting(cluster_pointer self);
void give_up_waiting(cluster_pointer self, const caf::error& why);

/// Answers a request that waited in vain with why.
template <class T>
auto answer_in_vain(caf::typed_response_promise<T> rp) {
  return [rp](caf::error why) mutable { rp.deliver(std::move(why)); };
}

/// Whether the member at `address` is connected and answered as itself.
bool member_reached(cluster_pointer self, const std::string& address);

/// Whether `node` is the process of a member of the view.
bool sent_by_member(cluster_pointer self, const caf::node_id& node);

/// Whether `node` is the process of a node the table lists, whatever its
/// status: a member, or one declared dead that still forwards what enters
/// it (it lost Redis) to the members.
bool sent_by_known_node(cluster_pointer self, const caf::node_id& node);

/// The owner a request for session `id` goes to: its owner in the view,
/// or, while this node is cut off from Redis, among the other members.
std::string route_owner(cluster_pointer self, const std::string& id);

/// Whether this node may route a request for `id` now: it is a member,
/// and the session's owner is this node, admitted, or a member connected,
/// known and not leaving.
bool can_route(cluster_pointer self, const std::string& id);

// -- routing ------------------------------------------------------------------

/// Gives up on the requests forwarded to a peer that left: each goes to
/// its session's next owner, or fails (see route_to_owner). Their answers,
/// should they still come, are ignored.
void abandon_forwards(cluster_pointer self, const std::string& name);

/// Puts a request forwarded to `name` on the peer's list, with what to do
/// if it is abandoned (see abandon_forwards); returns its ticket.
uint64_t track_forward(cluster_pointer self, const std::string& name,
                       std::function<void()> give_up);

/// Takes a forwarded request off the peer's list; false when it is no
/// longer there, because it was abandoned when the peer left.
bool settle_forward(cluster_pointer self, const std::string& name,
                    uint64_t ticket);

/// True when the error says the peer is gone, so that the request never
/// ran there and may be sent to the next owner.
bool peer_is_gone(const caf::error& err);

/// The peer said it shuts down (or that it cannot reach Redis): its
/// sessions wait for the view without it (it releases them first, then
/// leaves the table; or the members declare it dead).
void peer_leaving(cluster_pointer self, const std::string& address,
                  const caf::actor_addr& handle);

/// Takes back the `leaving` marks set two failure timeouts ago: a peer
/// that cannot reach Redis says so too, and is back once it can (or a
/// new member, or gone, by then).
void forget_old_leaves(cluster_pointer self);

/// Whether a request may run twice: all but a POST. A POST forwarded to a
/// peer that went silent may have been stored there, so it is not sent
/// again; its client is told to read the session before retrying.
template <class Atom>
constexpr bool may_repeat(Atom) {
  return !std::is_same<Atom, memory_append_atom>::value;
}

/// A member that reaches `owner` when this node does not (a one-way cut
/// between them): the first such member of the view, or "" (the owner is
/// leaving, or no member reaches it: wait for the next view).
std::string relay_for(cluster_pointer self, const std::string& owner);

/// Sends the request to the session's owner: the local registry, or the
/// owning peer, directly or through a member that reaches it (see
/// relay_for). When the peer turns out to be gone, it leaves the
/// membership and the request goes to the next owner. When the peer's
/// session was fenced (a new owner claimed it while the request was on its
/// way, as when the peer hands over at shutdown), the write did not run and
/// goes to the owner again. When the peer fails while the request is on its
/// way, a request that may run twice goes to the next owner, and a write
/// fails at once. At most `retries` times.
template <class T, class Atom, class... Ts>
void route_to_owner(cluster_pointer self, caf::typed_response_promise<T> rp,
                    const std::string& id, int retries, Atom atom, Ts... xs) {
  auto& st = self->state;
  if (!can_route(self, id)) {
    if (!st.joined && !st.waiting_for.empty()) {
      rp.deliver(make_error(service_errc::not_member, st.waiting_for));
      return;
    }
    wait_for(
      self,
      [=]() mutable {
        if (!can_route(self, id))
          return false;
        route_to_owner(self, rp, id, retries, atom, xs...);
        return true;
      },
      answer_in_vain(rp));
    return;
  }
  auto owner = route_owner(self, id);
  if (owner == st.settings.self_name) {
    // A session the lease no longer covers when the request reaches it
    // (the view moved on, the node paused) ran nothing and answers
    // `moved`: the request is routed again.
    // The handler keeps the one copy a second try needs; the request
    // takes the arguments themselves.
    auto failed = [=](caf::error& err) mutable {
      if (retries > 0 && is_service_error(err, service_errc::moved))
        route_to_owner(self, rp, id, retries - 1, atom, xs...);
      else
        rp.deliver(std::move(err));
    };
    self->request(st.registry, caf::infinite, atom, std::move(xs)...)
      .then([=](T& value) mutable { rp.deliver(std::move(value)); },
            std::move(failed));
    return;
  }
  auto via = member_reached(self, owner) ? owner : relay_for(self, owner);
  bool relayed = via != owner;
  auto peer = st.peers.at(via).handle;
  auto ticket = track_forward(self, via, [=]() mutable {
    metrics::global().forward_failures.add();
    if (!may_repeat(atom))
      rp.deliver(make_error(service_errc::write_unknown,
                            via + " failed before it answered"));
    else if (retries > 0)
      route_to_owner(self, rp, id, retries - 1, atom, xs...);
    else
      rp.deliver(make_error(service_errc::leaving,
                            via + " failed before it answered"));
  });
  metrics::global().forwarded_requests.add();
  auto answered = [=](T& value) mutable {
    if (settle_forward(self, via, ticket))
      rp.deliver(std::move(value));
  };
  auto failed = [=](caf::error& err) mutable {
    if (!settle_forward(self, via, ticket))
      return;
    metrics::global().forward_failures.add();
    bool gone = peer_is_gone(err);
    bool leaving = is_service_error(err, service_errc::leaving);
    bool moved = is_service_error(err, service_errc::moved);
    // The relay reaches the owner no more either: wait for the owner, or
    // for the view without it.
    bool unreachable = relayed
                       && is_service_error(err, service_errc::owner_unreachable);
    if (retries == 0
        || !(gone || leaving || moved || unreachable
             || is_service_error(err, service_errc::fenced))) {
      rp.deliver(std::move(err));
      return;
    }
    // A bounced request (request_receiver_down) did not run: the
    // session stopped there, or the peer's process did, which its
    // down message tells; only a lost link fails the peer here.
    if (gone && err.category() == caf::atom("exit"))
      peer_failed(self, via, peer.address(), "unreachable");
    if (leaving && !relayed)
      peer_leaving(self, via, peer.address());
    auto again = [=]() mutable {
      route_to_owner(self, rp, id, retries - 1, atom, xs...);
    };
    if (unreachable) {
      // Once the owner is reached again or the view names another (it may
      // already: the relay gives up on a dead owner when its view does).
      auto again_once_back_or_replaced = [=]() mutable {
        if (!member_reached(self, owner) && route_owner(self, id) == owner)
          return false;
        again();
        return true;
      };
      if (!again_once_back_or_replaced())
        wait_for(self, again_once_back_or_replaced, answer_in_vain(rp));
    } else if (moved && self->state.cut_off) {
      // The owner's view still names this node, which cannot read the
      // table: ask again a heartbeat later, until the members declared it
      // dead (within the failure timeout), as often as it takes.
      auto asked = self->clock().now();
      wait_for(
        self,
        [=]() mutable {
          if (self->clock().now() - asked < self->state.settings.heartbeat)
            return false;
          route_to_owner(self, rp, id, retries, atom, xs...);
          return true;
        },
        answer_in_vain(rp));
    } else if (moved || (leaving && relayed)) {
      reread_table(self, again, answer_in_vain(rp));
    } else {
      again();
    }
  };
  auto timeout = st.settings.forward_timeout;
  if (relayed)
    self->request(peer, timeout, relay_atom::value, forward_atom::value, atom,
                  xs...)
      .then(answered, failed);
  else
    self->request(peer, timeout, forward_atom::value, atom, xs...)
      .then(answered, failed);
}

/// Passes on a request a member relays through this node (see relay_for)
/// to the session's owner, once, and answers what the owner answers: or
/// `owner_unreachable` when this node cannot reach it either, or `moved`
/// when this node owns the session in its view (the sender reads the
/// table again).
template <class T, class Atom, class... Ts>
caf::result<T> relay(cluster_pointer self, const std::string& id, Atom atom,
                     Ts... xs) {
  auto& st = self->state;
  if (!from_member(self))
    return make_error(service_errc::forbidden,
                      "not a member of this node's cluster");
  auto owner = st.members.empty() || st.cut_off ? std::string{}
                                                : owner_of(id, st.members);
  if (owner == st.settings.self_name)
    return make_error(service_errc::moved, "this node owns the session in view "
                                             + std::to_string(st.version));
  if (owner.empty() || !member_reached(self, owner))
    return make_error(service_errc::owner_unreachable,
                      "no member reaches the session's owner");
  auto rp = self->make_response_promise<T>();
  // Given up on with the owner (its connection fails, or the view declares
  // it dead): the sender routes a request that may run twice again once
  // the view moved on; of any other, the outcome is unknown.
  auto ticket = track_forward(self, owner, [=]() mutable {
    auto why = owner + " failed before it answered";
    rp.deliver(may_repeat(atom)
                 ? make_error(service_errc::owner_unreachable, why)
                 : make_error(service_errc::write_unknown, why));
  });
  self->request(st.peers.at(owner).handle, st.settings.forward_timeout,
                forward_atom::value, atom, xs...)
    .then(
      [=](T& value) mutable {
        if (settle_forward(self, owner, ticket))
          rp.deliver(std::move(value));
      },
      [=](caf::error& err) mutable {
        if (settle_forward(self, owner, ticket))
          rp.deliver(std::move(err));
      });
  return rp;
}

/// Sends the request to the session's owner (see route_to_owner), trying
/// again at most twice, and answers what the owner answers.
template <class T, class... Ts>
caf::result<T> route(cluster_pointer self, const std::string& id, Ts... xs) {
  auto rp = self->make_response_promise<T>();
  route_to_owner(self, rp, id, 2, std::move(xs)...);
  return rp;
}

/// Whether this node may serve every one of `sessions` now (see
/// may_serve_here).
bool may_serve_all(cluster_pointer self, const std::vector<std::string>& sessions);

/// Whether this node owns every one of `sessions` in its view.
bool owns_all(cluster_pointer self, const std::vector<std::string>& sessions);

/// Serves a forwarded request for `sessions` from the local registry when
/// this node owns them all in its view, once it may serve them (admitted,
/// its lease running, no hold on them); else answers `moved`, and the
/// sender reads the table and routes it again.
template <class T, class... Ts>
void serve_if_owned(cluster_pointer self, caf::typed_response_promise<T> rp,
                    const std::vector<std::string>& sessions, Ts... xs) {
  auto& st = self->state;
  if (st.leaving) {
    rp.deliver(make_error(service_errc::leaving, "this node shuts down"));
    return;
  }
  auto ready = [=]() mutable {
    auto& st = self->state;
    if (!owns_all(self, sessions) || !may_serve_all(self, sessions)
        || st.leaving)
      return false;
    rp.delegate(st.registry, xs...);
    return true;
  };
  if (!owns_all(self, sessions)) {
    // The sender's view may be newer: read the table before saying so.
    reread_table(
      self,
      [=]() mutable {
        if (!ready())
          rp.deliver(make_error(service_errc::moved,
                                "not this node's in view "
                                  + std::to_string(self->state.version)));
      },
      answer_in_vain(rp));
    return;
  }
  if (!ready())
    wait_for(self, ready, answer_in_vain(rp));
}

/// Serves a forwarded request from the local registry when a member sent
/// it (see serve_if_owned), with the scope this node gives its key (see
/// own_scope). A node that just joined may send before this node read the table
/// that lists it: the table is read again first, and the request waits
/// until this node reached the members it lists, or is refused when every
/// one is reached and the sender is none of them. A node that has left
/// serves nothing: the sender sends the request to the session's next
/// owner.
template <class T, class... Ts>
caf::result<T> serve_forwarded(cluster_pointer self,
                               std::vector<std::string> sessions,
                               const access_scope& claimed, Ts... xs) {
  auto& st = self->state;
  if (st.leaving)
    return make_error(service_errc::leaving, "this node shuts down");
  if (st.cut_off)
    return make_error(service_errc::leaving,
                      "this node cannot reach Redis: it serves no session");
  auto scope = own_scope(self, claimed);
  if (!scope)
    return make_error(service_errc::forbidden,
                      "the request's API key is not one of this node's");
  if (!self->current_sender())
    return make_error(service_errc::not_member, "an anonymous message");
  // Before the promise: making it takes the sender out of the message.
  auto sender = self->current_sender()->node();
  auto rp = self->make_response_promise<T>();
  auto serve_when_member = [=]() mutable {
    if (!sent_by_known_node(self, sender))
      return false;
    serve_if_owned(self, rp, sessions, xs..., *scope);
    return true;
  };
  if (serve_when_member())
    return rp;
  reread_table(self, [=]() mutable {
    if (serve_when_member())
      return;
    if (!may_become_member(self))
      rp.deliver(make_error(service_errc::not_member,
                            "the sender is not a member of this node's "
                            "cluster"));
    else
      wait_for(self, serve_when_member, answer_in_vain(rp));
  }, answer_in_vain(rp));
  return rp;
}

/// Sends the request to the local registry once this node is a member (a
/// namespace's search or deletion, whose steps go by the view).
template <class T, class... Ts>
caf::result<T> when_member(cluster_pointer self, Ts... xs) {
  auto& st = self->state;
  if (st.joined)
    return self->delegate(st.registry, xs...);
  if (!st.waiting_for.empty())
    return make_error(service_errc::not_member, st.waiting_for);
  auto rp = self->make_response_promise<T>();
  wait_for(
    self,
    [=]() mutable {
      if (!self->state.joined)
        return false;
      rp.delegate(self->state.registry, xs...);
      return true;
    },
    answer_in_vain(rp));
  return rp;
}

/// Runs a step of a namespace's search on every node that owns some of
/// the sessions `parts` names, and answers their answers merged. `parts`
/// maps each owner to what it is sent (its sessions, or its picks). A
/// node that fails fails the search: the client may repeat it.
template <class T, class Part, class Merge, class Atom, class... Ts>
caf::result<T> ask_owners(cluster_pointer self,
                          std::vector<std::pair<std::string, Part>> parts,
                          Merge merge, Atom atom, Ts... xs) {
  auto rp = self->make_response_promise<T>();
  auto& st = self->state;
  for (const auto& part : parts)
    if (part.first == st.settings.self_name ? !st.admitted
                                            : !member_reached(self, part.first)) {
      rp.deliver(make_error(service_errc::owner_unreachable,
                            part.first + " cannot be reached"));
      return rp;
    }
  gather(rp, parts.size(), std::move(merge), [=](std::size_t i) {
    auto& st = self->state;
    const auto& [owner, part] = parts[i];
    if (owner == st.settings.self_name)
      return self->request(st.registry, caf::infinite, atom, part, xs...);
    return self->request(st.peers.at(owner).handle, st.settings.forward_timeout,
                         forward_atom::value, atom, part, xs...);
  });
  return rp;
}

/// The session a step names by its id: the id itself.
const std::string& id_itself(const std::string& id);

/// The session a step names by a pick of one of its messages.
const std::string& session_of_pick(const ranked_message& pick);

/// The sessions some picks are from.
std::vector<std::string> sessions_of(const std::vector<ranked_message>& picks);

/// What a step names (sessions, or picks of their messages), by the owner
/// of each session.
template <class T, class SessionOf>
std::vector<std::pair<std::string, std::vector<T>>>
by_owner(cluster_pointer self, std::vector<T> items, SessionOf session_of) {
  return group_by(std::move(items), [&](const T& item) {
    return owner_of(session_of(item), self->state.members);
  });
}

// -- credits ------------------------------------------------------------------

/// Hands a fold job the local pool has no room for to the peer with the
/// most credits.
caf::result<fold_result> hand_off(cluster_pointer self, fold_job job);

} // namespace motorhead
