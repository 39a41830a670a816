// The cluster node's routing: the requests forwarded to each peer and not
// answered yet, what becomes of them when the peer fails, and the requests
// waiting for the join or for their owner's connection. The templates that
// send a request to its session's owner are in cluster_node_internal.hpp.
#include "actors/cluster_node.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include <caf/all.hpp>

#include "actors/cluster_node_internal.hpp"

namespace motorhead {

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

uint64_t track_forward(cluster_pointer self, const std::string& name,
                       std::function<void()> give_up) {
  auto& st = self->state;
  auto ticket = st.next_forward_ticket++;
  st.forwards_in_flight[name][ticket] = std::move(give_up);
  return ticket;
}

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

namespace {

/// Bounds the memory that requests for unreachable owners (or from nodes
/// that claim to be members) may hold.
constexpr std::size_t max_waiting_requests = 10'000;

} // namespace

void wait_for(cluster_pointer self, std::function<bool()> try_now,
              std::function<void(caf::error)> give_up,
              std::optional<caf::timespan> at_most) {
  auto& waiting = self->state.waiting;
  if (waiting.size() >= max_waiting_requests) {
    give_up(make_error(service_errc::overloaded,
                       "too many requests wait for the cluster"));
    return;
  }
  auto limit = at_most.value_or(
    std::chrono::duration_cast<caf::timespan>(self->state.settings.forward_timeout));
  waiting.push_back({self->clock().now() + limit, std::move(try_now),
                     std::move(give_up)});
}

void retry_waiting(cluster_pointer self) {
  auto waiting = std::move(self->state.waiting);
  self->state.waiting.clear();
  for (auto& request : waiting)
    if (!request.try_now())
      self->state.waiting.push_back(std::move(request));
}

void expire_waiting(cluster_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  for (auto& request : waiting)
    if (request.until <= now)
      request.give_up(make_error(
        st.joined ? service_errc::owner_unreachable : service_errc::not_member,
        "waited " + std::to_string(st.settings.forward_timeout.count())
          + " ms for the cluster (view " + std::to_string(st.version) + ")"));
    else
      st.waiting.push_back(std::move(request));
}

void give_up_waiting(cluster_pointer self, const caf::error& why) {
  auto waiting = std::move(self->state.waiting);
  self->state.waiting.clear();
  for (auto& request : waiting)
    request.give_up(why);
}

bool peer_is_gone(const caf::error& err) {
  return err == caf::sec::request_receiver_down
         || err.category() == caf::atom("exit");
}

void peer_leaving(cluster_pointer self, const std::string& address,
                  const caf::actor_addr& handle) {
  auto peer = self->state.peers.find(address);
  if (peer == self->state.peers.end() || peer->second.handle.address() != handle)
    return;
  peer->second.leaving = true;
  peer->second.leaving_since = self->clock().now();
}

void forget_old_leaves(cluster_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (auto& [address, peer] : st.peers)
    if (peer.leaving && now - peer.leaving_since > st.settings.failure_timeout * 2)
      peer.leaving = false;
}

std::optional<access_scope> own_scope(cluster_pointer self,
                                      const access_scope& claimed) {
  const auto& keys = self->state.settings.key_scopes;
  if (keys.empty())
    return access_scope{};
  auto key = keys.find(claimed.key);
  if (key == keys.end())
    return std::nullopt;
  return key->second;
}

bool owns_all(cluster_pointer self, const std::vector<std::string>& sessions) {
  auto& st = self->state;
  for (const auto& id : sessions)
    if (st.members.empty() || owner_of(id, st.members) != st.settings.self_name)
      return false;
  return true;
}

bool may_serve_all(cluster_pointer self, const std::vector<std::string>& sessions) {
  for (const auto& id : sessions)
    if (!may_serve_here(self, id))
      return false;
  return true;
}

std::vector<std::string> sessions_of(const std::vector<ranked_message>& picks) {
  std::vector<std::string> sessions;
  for (const auto& pick : picks)
    sessions.push_back(pick.session_id);
  return sessions;
}

const std::string& id_itself(const std::string& id) {
  return id;
}

const std::string& session_of_pick(const ranked_message& pick) {
  return pick.session_id;
}

} // namespace motorhead
