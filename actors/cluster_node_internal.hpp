// Private to the cluster node's files: what its behavior (cluster_node.cpp)
// shares with the membership (cluster_node_membership.cpp). Users include
// actors/cluster_node.hpp.
#pragma once

#include <string>

#include <caf/all.hpp>

#include "actors/cluster_node.hpp"

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

} // namespace motorhead
