// The cluster node's behavior: the router protocol for the HTTP front, the
// node protocol for peers. Membership, routing and credits have files of
// their own, sharing cluster_node_internal.hpp.
#include "actors/cluster_node.hpp"

#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/cluster_node_internal.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/rendezvous.hpp"
#include "core/retrieval_index.hpp"

namespace motorhead {

namespace {

/// Whether the current message was sent by an actor of this process. Every
/// message this node sends a peer carries its handle, and so does every
/// answer it gives on the cluster port: whoever reaches the port can send
/// it anything. Only the node protocol may come from another process (it
/// checks who sent it); an anonymous message may come from anywhere.
bool from_this_process(cluster_pointer self) {
  auto sender = self->current_sender();
  return sender && sender->node() == self->node();
}

template <class Result>
Result refuse_stranger() {
  if constexpr (!std::is_void<Result>::value)
    return make_error(service_errc::forbidden,
                      "only this node's own actors may send this");
}

template <class Handler, class... Ts>
auto local_only(cluster_pointer self, Handler handler,
                caf::detail::type_list<Ts...>) {
  using result = typename caf::detail::get_callable_trait<Handler>::result_type;
  return [self, handler](Ts... xs) -> result {
    if (!from_this_process(self))
      return refuse_stranger<result>();
    return handler(std::forward<Ts>(xs)...);
  };
}

/// `handler`, for a message only this process may send (the HTTP front's
/// requests, the summarizer pool's overflow, membership events): from
/// another process it is refused (`forbidden`) or, without an answer,
/// dropped.
template <class Handler>
auto local_only(cluster_pointer self, Handler handler) {
  return local_only(
    self, std::move(handler),
    typename caf::detail::get_callable_trait<Handler>::arg_types{});
}

} // namespace

cluster_actor::behavior_type cluster_node(cluster_pointer self,
                                          cluster_settings settings,
                                          registry_actor registry,
                                          summarizer_pool_actor pool,
                                          persistence_actor store,
                                          caf::actor connector) {
  auto& st = self->state;
  st.settings = std::move(settings);
  if (!st.settings.serving)
    st.settings.serving = std::make_shared<serving_lease>();
  st.registry = std::move(registry);
  st.pool = std::move(pool);
  st.store = std::move(store);
  st.connector = std::move(connector);
  metrics::global().cluster_members.set(0);
  st.last_tick = st.joining_since = self->clock().now();
  self->set_down_handler([=](caf::down_msg& msg) {
    for (const auto& [name, peer] : self->state.peers)
      if (peer.handle.address() == msg.source) {
        peer_failed(self, name, msg.source, self->system().render(msg.reason));
        return;
      }
  });
  return {
    // -- the router protocol, for the HTTP front --------------------------------
    local_only(self, [=](memory_get_atom get, std::string& id, access_scope& scope) {
      return route<encoded_memory>(self, id, get, id, std::move(scope));
    }),
    local_only(self, [=](memory_append_atom append, std::string& id, append_request& request,
        access_scope& scope) {
      return route<ok_atom>(self, id, append, id, std::move(request),
                            std::move(scope));
    }),
    local_only(self, [=](memory_delete_atom erase, std::string& id, erase_request& request,
        access_scope& scope) {
      return route<ok_atom>(self, id, erase, id, std::move(request),
                            std::move(scope));
    }),
    local_only(self, [=](forget_atom, std::string& ns, access_scope& scope) {
      return when_member<uint64_t>(self, forget_atom::value, std::move(ns),
                                   std::move(scope),
                                   caf::actor_cast<router_actor>(self));
    }),
    local_only(self, [=](retrieve_atom retrieve, std::string& id, retrieval_query& query,
        access_scope& scope) {
      return route<std::vector<retrieval_hit>>(self, id, retrieve, id,
                                               std::move(query),
                                               std::move(scope));
    }),
    local_only(self, [=](info_atom info, std::string& id, session_patch& patch,
        access_scope& scope) {
      return route<session_info>(self, id, info, id, std::move(patch),
                                 std::move(scope));
    }),
    local_only(self, [=](retrieve_atom, namespace_query& request, access_scope& scope) {
      return when_member<std::vector<retrieval_hit>>(
        self, retrieve_atom::value, std::move(request), std::move(scope),
        caf::actor_cast<router_actor>(self));
    }),
    local_only(self, [=](stats_atom stats, const std::vector<std::string>& ids,
        retrieval_query& query, access_scope& scope) {
      return ask_owners<corpus_stats>(self, by_owner(self, ids, id_itself),
                                      add_stats, stats, std::move(query),
                                      std::move(scope));
    }),
    local_only(self, [=](candidates_atom candidates, const std::vector<std::string>& ids,
        candidate_request& request, access_scope& scope) {
      return ask_owners<search_candidates>(
        self, by_owner(self, ids, id_itself), merge_candidates,
        candidates, std::move(request), std::move(scope));
    }),
    local_only(self, [=](fetch_atom fetch, std::vector<ranked_message>& picks,
        access_scope& scope) {
      return ask_owners<std::vector<retrieval_hit>>(
        self, by_owner(self, std::move(picks), session_of_pick), merge_hits,
        fetch, std::move(scope));
    }),
    local_only(self, [=](list_atom, session_page& page)
                       -> caf::result<session_listing> {
      return self->delegate(self->state.registry, list_atom::value,
                            std::move(page));
    }),
    local_only(self, [=](ping_atom) -> caf::result<ok_atom> {
      // Ready once a member: before, it serves no session.
      auto& st = self->state;
      if (!st.joined)
        return make_error(service_errc::not_member,
                          st.waiting_for.empty() ? "joining the cluster"
                                                 : st.waiting_for);
      if (st.cut_off)
        return make_error(service_errc::not_member,
                          members_without_self(self).empty()
                            ? "cannot read the membership table in Redis"
                            : "cannot read the membership table in Redis: "
                              "requests go to the other members");
      return self->delegate(st.registry, ping_atom::value);
    }),
    local_only(self, [=](cluster_atom, const std::string& id)
                       -> caf::result<cluster_view> {
      auto& st = self->state;
      cluster_view view;
      view.node = st.settings.self_name;
      view.incarnation = st.self_id();
      view.version = st.version;
      view.members = st.members;
      view.seeds = st.settings.seeds;
      if (!id.empty() && !st.members.empty())
        view.owner = owner_of(id, st.members);
      if (!st.joined)
        view.waiting_for = st.waiting_for.empty() ? "joining the cluster"
                                                  : st.waiting_for;
      return view;
    }),
    // -- the node protocol, for peers ------------------------------------------
    [=](forward_atom, memory_get_atom get, std::string& id,
        access_scope& scope) {
      return serve_forwarded<encoded_memory>(self, {id}, scope, get, id);
    },
    [=](forward_atom, memory_append_atom append, std::string& id,
        append_request& request, access_scope& scope) {
      return serve_forwarded<ok_atom>(self, {id}, scope, append, id,
                                      std::move(request));
    },
    [=](forward_atom, memory_delete_atom erase, std::string& id,
        erase_request& request, access_scope& scope) {
      return serve_forwarded<ok_atom>(self, {id}, scope, erase, id,
                                      std::move(request));
    },
    [=](forward_atom, retrieve_atom retrieve, std::string& id,
        retrieval_query& query, access_scope& scope) {
      return serve_forwarded<std::vector<retrieval_hit>>(
        self, {id}, scope, retrieve, id, std::move(query));
    },
    [=](forward_atom, info_atom info, std::string& id, session_patch& patch,
        access_scope& scope) {
      return serve_forwarded<session_info>(self, {id}, scope, info, id,
                                           std::move(patch));
    },
    [=](relay_atom, forward_atom, memory_get_atom get, std::string& id,
        access_scope& scope) {
      return relay<encoded_memory>(self, id, get, id, std::move(scope));
    },
    [=](relay_atom, forward_atom, memory_append_atom append, std::string& id,
        append_request& request, access_scope& scope) {
      return relay<ok_atom>(self, id, append, id, std::move(request),
                            std::move(scope));
    },
    [=](relay_atom, forward_atom, memory_delete_atom erase, std::string& id,
        erase_request& request, access_scope& scope) {
      return relay<ok_atom>(self, id, erase, id, std::move(request),
                            std::move(scope));
    },
    [=](relay_atom, forward_atom, retrieve_atom retrieve, std::string& id,
        retrieval_query& query, access_scope& scope) {
      return relay<std::vector<retrieval_hit>>(self, id, retrieve, id,
                                               std::move(query),
                                               std::move(scope));
    },
    [=](relay_atom, forward_atom, info_atom info, std::string& id,
        session_patch& patch, access_scope& scope) {
      return relay<session_info>(self, id, info, id, std::move(patch),
                                 std::move(scope));
    },
    [=](forward_atom, stats_atom stats, std::vector<std::string>& ids,
        retrieval_query& query, access_scope& scope) {
      return serve_forwarded<corpus_stats>(self, ids, scope, stats, ids,
                                           std::move(query));
    },
    [=](forward_atom, candidates_atom candidates,
        std::vector<std::string>& ids, candidate_request& request,
        access_scope& scope) {
      return serve_forwarded<search_candidates>(
        self, ids, scope, candidates, ids, std::move(request));
    },
    [=](forward_atom, fetch_atom fetch, std::vector<ranked_message>& picks,
        access_scope& scope) {
      return serve_forwarded<std::vector<retrieval_hit>>(
        self, sessions_of(picks), scope, fetch, std::move(picks));
    },
    [=](heartbeat_atom, const std::string& address)
      -> caf::result<std::string, uint64_t> {
      take_connection(self, address);
      auto rp = self->make_response_promise<std::string, uint64_t>();
      auto name = self->state.self_id();
      self->request(self->state.pool, self->state.settings.failure_timeout,
                    credits_atom::value)
        .then([=](uint64_t credits) mutable { rp.deliver(name, credits); },
              [=](caf::error&) mutable { rp.deliver(name, uint64_t{0}); });
      return rp;
    },
    [=](members_atom) { read_table(self); },
    [=](release_atom, uint64_t version) {
      return release_moved(self, version);
    },
    [=](handoff_atom, fold_job& job) -> caf::result<fold_result> {
      if (!from_member(self))
        return make_error(service_errc::forbidden,
                          "not a member of this node's cluster");
      return self->delegate(self->state.pool, handoff_atom::value,
                            std::move(job));
    },
    [=](leave_atom, const std::string&) -> caf::result<ok_atom> {
      if (!from_member(self))
        return make_error(service_errc::forbidden,
                          "not a member of this node's cluster");
      return member_left(self);
    },
    // -- the local pool's overflow, and membership -----------------------------
    local_only(self, [=](summarize_atom, fold_job& job) {
      return hand_off(self, std::move(job));
    }),
    local_only(self, [=](peer_up_atom, const std::string& name, node_actor& node) {
      add_peer(self, name, std::move(node));
    }),
    local_only(self, [=](tick_atom) { heartbeat_round(self); }),
    local_only(self, [=](join_atom, const std::string& address) {
      auto& st = self->state;
      st.settings.self_name = address;
      st.last_tick = st.joining_since = st.reading_since = st.last_read_sent
        = self->clock().now();
      log_info("cluster", "joining as " + st.self_id());
      heartbeat_round(self);
    }),
    local_only(self, [=](leave_atom) { return leave(self); }),
  };
}

node_actor::behavior_type node_gateway(node_actor::pointer self,
                                       cluster_actor node) {
  self->link_to(node);
  auto pass = [=](auto... xs) { return self->delegate(node, xs...); };
  return {
    [=](forward_atom f, memory_get_atom a, std::string& id, access_scope& s) {
      return pass(f, a, std::move(id), std::move(s));
    },
    [=](forward_atom f, memory_append_atom a, std::string& id,
        append_request& r, access_scope& s) {
      return pass(f, a, std::move(id), std::move(r), std::move(s));
    },
    [=](forward_atom f, memory_delete_atom a, std::string& id,
        erase_request& r, access_scope& s) {
      return pass(f, a, std::move(id), std::move(r), std::move(s));
    },
    [=](forward_atom f, retrieve_atom a, std::string& id, retrieval_query& q,
        access_scope& s) {
      return pass(f, a, std::move(id), std::move(q), std::move(s));
    },
    [=](forward_atom f, info_atom a, std::string& id, session_patch& p,
        access_scope& s) {
      return pass(f, a, std::move(id), std::move(p), std::move(s));
    },
    [=](relay_atom r, forward_atom f, memory_get_atom a, std::string& id,
        access_scope& s) {
      return pass(r, f, a, std::move(id), std::move(s));
    },
    [=](relay_atom r, forward_atom f, memory_append_atom a, std::string& id,
        append_request& q, access_scope& s) {
      return pass(r, f, a, std::move(id), std::move(q), std::move(s));
    },
    [=](relay_atom r, forward_atom f, memory_delete_atom a, std::string& id,
        erase_request& q, access_scope& s) {
      return pass(r, f, a, std::move(id), std::move(q), std::move(s));
    },
    [=](relay_atom r, forward_atom f, retrieve_atom a, std::string& id,
        retrieval_query& q, access_scope& s) {
      return pass(r, f, a, std::move(id), std::move(q), std::move(s));
    },
    [=](relay_atom r, forward_atom f, info_atom a, std::string& id,
        session_patch& p, access_scope& s) {
      return pass(r, f, a, std::move(id), std::move(p), std::move(s));
    },
    [=](forward_atom f, stats_atom a, std::vector<std::string>& ids,
        retrieval_query& q, access_scope& s) {
      return pass(f, a, std::move(ids), std::move(q), std::move(s));
    },
    [=](forward_atom f, candidates_atom a, std::vector<std::string>& ids,
        candidate_request& r, access_scope& s) {
      return pass(f, a, std::move(ids), std::move(r), std::move(s));
    },
    [=](forward_atom f, fetch_atom a, std::vector<ranked_message>& picks,
        access_scope& s) {
      return pass(f, a, std::move(picks), std::move(s));
    },
    [=](heartbeat_atom a, std::string& address) {
      return pass(a, std::move(address));
    },
    [=](members_atom a) { self->send(node, a); },
    [=](release_atom a, uint64_t version) { return pass(a, version); },
    [=](handoff_atom a, fold_job& job) { return pass(a, std::move(job)); },
    [=](leave_atom a, std::string& address) {
      return pass(a, std::move(address));
    },
  };
}

} // namespace motorhead
