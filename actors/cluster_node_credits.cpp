// The cluster node's credits: a fold job the local summarizer pool has no
// room for goes to the member with the most free summarizer capacity.
#include "actors/cluster_node.hpp"

#include <algorithm>
#include <utility>

#include <caf/all.hpp>

#include "actors/cluster_node_internal.hpp"

namespace motorhead {

caf::result<fold_result> hand_off(cluster_pointer self, fold_job job) {
  auto& peers = self->state.peers;
  auto best = peers.end();
  for (auto it = peers.begin(); it != peers.end(); ++it)
    if (member_reached(self, it->first)
        && (best == peers.end() || it->second.credits > best->second.credits))
      best = it;
  if (best == peers.end() || best->second.credits == 0)
    return make_error(service_errc::overloaded,
                      "no summarizer in the cluster has room");
  --best->second.credits;
  return self->delegate(best->second.handle, handoff_atom::value,
                        std::move(job));
}

} // namespace motorhead
