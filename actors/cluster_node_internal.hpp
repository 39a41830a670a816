// Private to the cluster node's files: what its behavior (cluster_node.cpp)
// shares with the membership, routing and credits (cluster_node_*.cpp), and
// the routing templates. Users include actors/cluster_node.hpp.
#pragma once

#include <cstdint>
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

/// A peer that failed (silent, unreachable, down) leaves, and what was
/// forwarded to it is not waited for. (A peer that leaves because it shuts
/// down still answers what it was sent.)
void peer_failed(cluster_pointer self, std::string name,
                 const caf::actor_addr& handle, const std::string& why);

/// One heartbeat round: checks this node's lease, asks each peer for its
/// credits (one that does not answer in time failed), has the connector try
/// the configured nodes that are not peers, and schedules the next round.
void heartbeat_round(cluster_pointer self);

/// Takes a configured node in as a peer, or a newer connection of one in
/// place of the older; not this node, nor one that is still shutting down.
void add_peer(cluster_pointer self, const std::string& name, node_actor node);

/// Tells every peer this node leaves, so that they take its sessions over
/// now rather than after the failure timeout; answers once every peer has
/// acknowledged or failed to.
caf::result<ok_atom> leave(cluster_pointer self);

/// A peer that shuts down leaves the membership now.
void peer_leaves(cluster_pointer self, const std::string& name);

// -- routing ------------------------------------------------------------------

/// Gives up on the requests forwarded to a peer that left: each goes to
/// its session's next owner, or fails (see route_to_owner). Their answers,
/// should they still come, are ignored.
void abandon_forwards(cluster_pointer self, const std::string& name);

/// Takes a forwarded request off the peer's list; false when it is no
/// longer there, because it was abandoned when the peer left.
bool settle_forward(cluster_pointer self, const std::string& name,
                    uint64_t ticket);

/// True when the error says the peer is gone, or leaving, so that the
/// request never ran there and may be sent to the next owner.
bool peer_is_gone(const caf::error& err);

/// Whether a request may run twice: all but a POST. A POST forwarded to a
/// peer that went silent may have been stored there, so it is not sent
/// again; its client is told to read the session before retrying.
template <class Atom>
constexpr bool may_repeat(Atom) {
  return !std::is_same<Atom, memory_append_atom>::value;
}

/// Sends the request to the session's owner: the local registry, or the
/// owning peer. When the peer turns out to be gone, it leaves the
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
  auto owner = owner_of(id, st.members);
  auto it = st.peers.find(owner);
  if (it == st.peers.end()) {
    rp.delegate(st.registry, atom, xs...);
    return;
  }
  auto peer = it->second.handle;
  auto ticket = st.next_forward_ticket++;
  st.forwards_in_flight[owner][ticket] = [=]() mutable {
    metrics::global().forward_failures.add();
    if (!may_repeat(atom))
      rp.deliver(make_error(service_errc::write_unknown,
                            owner + " failed before it answered"));
    else if (retries > 0)
      route_to_owner(self, rp, id, retries - 1, atom, xs...);
    else
      rp.deliver(make_error(service_errc::leaving,
                            owner + " failed before it answered"));
  };
  metrics::global().forwarded_requests.add();
  self->request(peer, st.settings.forward_timeout, forward_atom::value, atom,
                xs...)
    .then(
      [=](T& value) mutable {
        if (settle_forward(self, owner, ticket))
          rp.deliver(std::move(value));
      },
      [=](caf::error& err) mutable {
        if (!settle_forward(self, owner, ticket))
          return;
        metrics::global().forward_failures.add();
        bool gone = peer_is_gone(err);
        if (retries == 0
            || !(gone || is_service_error(err, service_errc::fenced))) {
          rp.deliver(std::move(err));
          return;
        }
        if (gone)
          peer_failed(self, owner, peer.address(), "unreachable");
        route_to_owner(self, rp, id, retries - 1, atom, xs...);
      });
}

/// Sends the request to the session's owner (see route_to_owner), trying
/// again at most twice, and answers what the owner answers.
template <class T, class... Ts>
caf::result<T> route(cluster_pointer self, const std::string& id, Ts... xs) {
  auto rp = self->make_response_promise<T>();
  route_to_owner(self, rp, id, 2, std::move(xs)...);
  return rp;
}

/// Serves a peer's forwarded request from the local registry, unless this
/// node has left: then the request does not run, and the peer sends it to
/// the session's next owner.
template <class T, class... Ts>
caf::result<T> serve_forwarded(cluster_pointer self, Ts&&... xs) {
  if (self->state.leaving)
    return make_error(service_errc::leaving, "this node shuts down");
  return self->delegate(self->state.registry, std::forward<Ts>(xs)...);
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
  gather(rp, parts.size(), std::move(merge), [=](std::size_t i) {
    auto& st = self->state;
    const auto& [owner, part] = parts[i];
    auto peer = st.peers.find(owner);
    return peer == st.peers.end()
             ? self->request(st.registry, caf::infinite, atom, part, xs...)
             : self->request(peer->second.handle, st.settings.forward_timeout,
                             forward_atom::value, atom, part, xs...);
  });
  return rp;
}

/// The session a step names by its id: the id itself.
const std::string& id_itself(const std::string& id);

/// The session a step names by a pick of one of its messages.
const std::string& session_of_pick(const ranked_message& pick);

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
