// The cluster node: routes each session to its owner among the live
// members, keeps the membership by heartbeats and CAF's down messages, and
// shares summarizer capacity with its peers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/node_id.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/protocol.hpp"

namespace motorhead {

struct cluster_settings {
  std::string self_name;               // "host:port" of this node
  std::vector<std::string> configured; // every node, this one included
  std::chrono::milliseconds heartbeat{500};
  std::chrono::milliseconds failure_timeout{2000};
  std::chrono::milliseconds forward_timeout{10000};
};

struct cluster_state {
  struct peer {
    node_actor handle;
    uint64_t credits = 0; // its free summarizer capacity, as last heard
  };

  cluster_settings settings;
  registry_actor registry;
  summarizer_pool_actor pool;
  caf::actor connector; // connects to configured peers; none in tests
  std::map<std::string, peer> peers; // live, this node excluded
  std::vector<std::string> members;  // live, this node included, sorted
  caf::actor_clock::time_point last_tick; // of the heartbeat round
  /// Peers that left because they shut down, by name: the process they ran
  /// in is not taken back as a member while it still answers.
  std::map<std::string, caf::node_id> departed;
  bool leaving = false; // this node shuts down: it connects to no one
  /// Requests forwarded to each peer and not answered yet, by ticket: what
  /// to do with each if the peer leaves first. A request sent to a peer
  /// that went silent may never be answered; waiting for its timeout would
  /// hold the client for the whole request timeout.
  std::map<std::string, std::map<uint64_t, std::function<void()>>>
    forwards_in_flight;
  uint64_t next_forward_ticket = 0;

  static inline const char* name = "cluster_node";
};

using cluster_pointer = cluster_actor::stateful_pointer<cluster_state>;

cluster_actor::behavior_type cluster_node(cluster_pointer self,
                                          cluster_settings settings,
                                          registry_actor registry,
                                          summarizer_pool_actor pool,
                                          caf::actor connector);

/// Connects to the addresses it is sent, as `(connect, addresses, node)`,
/// and tells `node` of each success with `(peer_up, address, peer)`.
caf::behavior cluster_connector(caf::event_based_actor* self,
                                std::chrono::milliseconds timeout);

} // namespace motorhead
