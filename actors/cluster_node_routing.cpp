// The cluster node's routing: the requests forwarded to each peer and not
// answered yet, and what becomes of them when the peer fails. The templates
// that send a request to its session's owner are in cluster_node_internal.hpp.
#include "actors/cluster_node.hpp"

#include <cstdint>
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

bool peer_is_gone(const caf::error& err) {
  return err == caf::sec::request_receiver_down
         || err.category() == caf::atom("exit")
         || is_service_error(err, service_errc::leaving);
}

const std::string& id_itself(const std::string& id) {
  return id;
}

const std::string& session_of_pick(const ranked_message& pick) {
  return pick.session_id;
}

} // namespace motorhead
