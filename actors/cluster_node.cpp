#include "actors/cluster_node.hpp"

#include <memory>
#include <type_traits>

#include <caf/all.hpp>

#include "actors/cluster_node_internal.hpp"
#include "actors/fan_in.hpp"
#include "core/metrics.hpp"
#include "core/rendezvous.hpp"
#include "core/retrieval_index.hpp"

namespace motorhead {

namespace {

/// Takes a forwarded request off the peer's list; false when it is no
/// longer there, because it was abandoned when the peer left.
bool settle_forward(cluster_pointer self, const std::string& name,
                    uint64_t ticket) {
  auto& in_flight = self->state.forwards_in_flight;
  auto it = in_flight.find(name);
  if (it == in_flight.end() || it->second.erase(ticket) == 0)
    return false;
  if (it->second.empty())
    in_flight.erase(it);
  return true;
}

/// True when the error says the peer is gone, or leaving, so that the
/// request never ran there and may be sent to the next owner.
bool peer_is_gone(const caf::error& err) {
  return err == caf::sec::request_receiver_down
         || err.category() == caf::atom("exit")
         || is_service_error(err, service_errc::leaving);
}

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

const std::string& id_itself(const std::string& id) {
  return id;
}

const std::string& session_of_pick(const ranked_message& pick) {
  return pick.session_id;
}

/// What a step names (sessions, or picks of their messages), by the owner
/// of each session.
template <class T, class SessionOf>
std::vector<std::pair<std::string, std::vector<T>>>
by_owner(cluster_pointer self, std::vector<T> items, SessionOf session_of) {
  return group_by(std::move(items), [&](const T& item) {
    return owner_of(session_of(item), self->state.members);
  });
}

/// Hands a fold job the local pool has no room for to the peer with the
/// most credits.
caf::result<fold_result> hand_off(cluster_pointer self, fold_job job) {
  auto& peers = self->state.peers;
  auto best = std::max_element(peers.begin(), peers.end(),
                               [](const auto& a, const auto& b) {
                                 return a.second.credits < b.second.credits;
                               });
  if (best == peers.end() || best->second.credits == 0)
    return make_error(service_errc::overloaded,
                      "no summarizer in the cluster has room");
  --best->second.credits;
  return self->delegate(best->second.handle, handoff_atom::value,
                        std::move(job));
}

} // namespace

/// Gives up on the requests forwarded to a peer that left: each goes to
/// its session's next owner, or fails (see route_to_owner). Their answers,
/// should they still come, are ignored.
void abandon_forwards(cluster_pointer self, const std::string& name) {
  auto& in_flight = self->state.forwards_in_flight;
  auto it = in_flight.find(name);
  if (it == in_flight.end())
    return;
  auto abandoned = std::move(it->second);
  in_flight.erase(it);
  for (auto& entry : abandoned)
    entry.second();
}

cluster_actor::behavior_type cluster_node(cluster_pointer self,
                                          cluster_settings settings,
                                          registry_actor registry,
                                          summarizer_pool_actor pool,
                                          caf::actor connector) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.registry = std::move(registry);
  st.pool = std::move(pool);
  st.connector = std::move(connector);
  st.members = {st.settings.self_name};
  metrics::global().cluster_members.set(1);
  st.last_tick = self->clock().now();
  self->set_down_handler([=](caf::down_msg& msg) {
    for (const auto& [name, peer] : self->state.peers)
      if (peer.handle.address() == msg.source) {
        peer_failed(self, name, msg.source, self->system().render(msg.reason));
        return;
      }
  });
  self->send(self, tick_atom::value);
  return {
    // -- the router protocol, for the HTTP front --------------------------------
    [=](memory_get_atom get, std::string& id, access_scope& scope) {
      return route<memory_view>(self, id, get, id, std::move(scope));
    },
    [=](memory_append_atom append, std::string& id, append_request& request,
        access_scope& scope) {
      return route<ok_atom>(self, id, append, id, std::move(request),
                            std::move(scope));
    },
    [=](memory_delete_atom erase, std::string& id, erase_request& request,
        access_scope& scope) {
      return route<ok_atom>(self, id, erase, id, std::move(request),
                            std::move(scope));
    },
    [=](forget_atom, std::string& ns, access_scope& scope) {
      return self->delegate(self->state.registry, forget_atom::value,
                            std::move(ns), std::move(scope),
                            caf::actor_cast<router_actor>(self));
    },
    [=](retrieve_atom retrieve, std::string& id, retrieval_query& query,
        access_scope& scope) {
      return route<std::vector<retrieval_hit>>(self, id, retrieve, id,
                                               std::move(query),
                                               std::move(scope));
    },
    [=](info_atom info, std::string& id, session_patch& patch,
        access_scope& scope) {
      return route<session_info>(self, id, info, id, std::move(patch),
                                 std::move(scope));
    },
    [=](retrieve_atom, namespace_query& request, access_scope& scope) {
      return self->delegate(self->state.registry, retrieve_atom::value,
                            std::move(request), std::move(scope),
                            caf::actor_cast<router_actor>(self));
    },
    [=](stats_atom stats, const std::vector<std::string>& ids,
        retrieval_query& query, access_scope& scope) {
      return ask_owners<corpus_stats>(self, by_owner(self, ids, id_itself),
                                      add_stats, stats, std::move(query),
                                      std::move(scope));
    },
    [=](candidates_atom candidates, const std::vector<std::string>& ids,
        candidate_request& request, access_scope& scope) {
      return ask_owners<search_candidates>(
        self, by_owner(self, ids, id_itself), merge_candidates,
        candidates, std::move(request), std::move(scope));
    },
    [=](fetch_atom fetch, std::vector<ranked_message>& picks,
        access_scope& scope) {
      return ask_owners<std::vector<retrieval_hit>>(
        self, by_owner(self, std::move(picks), session_of_pick), merge_hits,
        fetch, std::move(scope));
    },
    [=](list_atom, session_page& page) {
      return self->delegate(self->state.registry, list_atom::value,
                            std::move(page));
    },
    [=](ping_atom) {
      return self->delegate(self->state.registry, ping_atom::value);
    },
    [=](cluster_atom, const std::string& id) {
      auto& st = self->state;
      return cluster_view{st.settings.self_name, st.members,
                          st.settings.configured,
                          id.empty() ? "" : owner_of(id, st.members)};
    },
    // -- the node protocol, for peers ------------------------------------------
    [=](forward_atom, memory_get_atom get, std::string& id,
        access_scope& scope) {
      return serve_forwarded<memory_view>(self, get, std::move(id),
                                          std::move(scope));
    },
    [=](forward_atom, memory_append_atom append, std::string& id,
        append_request& request, access_scope& scope) {
      return serve_forwarded<ok_atom>(self, append, std::move(id),
                                      std::move(request), std::move(scope));
    },
    [=](forward_atom, memory_delete_atom erase, std::string& id,
        erase_request& request, access_scope& scope) {
      return serve_forwarded<ok_atom>(self, erase, std::move(id),
                                      std::move(request), std::move(scope));
    },
    [=](forward_atom, retrieve_atom retrieve, std::string& id,
        retrieval_query& query, access_scope& scope) {
      return serve_forwarded<std::vector<retrieval_hit>>(
        self, retrieve, std::move(id), std::move(query), std::move(scope));
    },
    [=](forward_atom, info_atom info, std::string& id, session_patch& patch,
        access_scope& scope) {
      return serve_forwarded<session_info>(self, info, std::move(id),
                                           std::move(patch), std::move(scope));
    },
    [=](forward_atom, stats_atom stats, std::vector<std::string>& ids,
        retrieval_query& query, access_scope& scope) {
      return serve_forwarded<corpus_stats>(self, stats, std::move(ids),
                                           std::move(query), std::move(scope));
    },
    [=](forward_atom, candidates_atom candidates,
        std::vector<std::string>& ids, candidate_request& request,
        access_scope& scope) {
      return serve_forwarded<search_candidates>(
        self, candidates, std::move(ids), std::move(request), std::move(scope));
    },
    [=](forward_atom, fetch_atom fetch, std::vector<ranked_message>& picks,
        access_scope& scope) {
      return serve_forwarded<std::vector<retrieval_hit>>(
        self, fetch, std::move(picks), std::move(scope));
    },
    [=](heartbeat_atom, const std::string&)
      -> caf::result<std::string, uint64_t> {
      auto rp = self->make_response_promise<std::string, uint64_t>();
      auto name = self->state.settings.self_name;
      self->request(self->state.pool, self->state.settings.failure_timeout,
                    credits_atom::value)
        .then([=](uint64_t credits) mutable { rp.deliver(name, credits); },
              [=](caf::error&) mutable { rp.deliver(name, uint64_t{0}); });
      return rp;
    },
    [=](handoff_atom, fold_job& job) {
      return self->delegate(self->state.pool, handoff_atom::value,
                            std::move(job));
    },
    [=](leave_atom, const std::string& name) {
      peer_leaves(self, name);
      return ok_atom::value;
    },
    // -- the local pool's overflow, and membership -----------------------------
    [=](summarize_atom, fold_job& job) {
      return hand_off(self, std::move(job));
    },
    [=](peer_up_atom, const std::string& name, node_actor& node) {
      add_peer(self, name, std::move(node));
    },
    [=](tick_atom) { heartbeat_round(self); },
    [=](leave_atom) { return leave(self); },
  };
}

} // namespace motorhead
