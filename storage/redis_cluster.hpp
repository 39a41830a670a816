// A Redis Cluster client: one pipelined connection per master, each command
// sent to the master of its key's slot. It follows MOVED (and refreshes its
// slot map), ASK (ASKING, then the command) and TRYAGAIN (a slot half
// migrated), and refreshes the map after a connection fails.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storage/cluster_slots.hpp"
#include "storage/redis_client.hpp"

namespace motorhead {

class redis_cluster final : public one_pipeline_at_a_time {
public:
  /// `seeds` carry the password; any of them that answers gives the map.
  /// Every node is reached with `tls`.
  redis_cluster(std::vector<redis_endpoint> seeds, redis_tls_options tls,
                std::chrono::milliseconds timeout, replication_wait wait);

  outcome<redis_topology> topology() override {
    return {redis_topology::cluster, {}};
  }

protected:
  pipeline_result run(const std::vector<redis_command>& commands,
                      bool writes) override;

private:
  /// The commands of one round that go to one master.
  struct node_batch {
    std::vector<std::size_t> positions; // in the caller's commands
    std::vector<routed_command> commands;
    bool sent = false;
  };

  /// Asks the known masters, then the seeds, for the slot map.
  std::string refresh_slots();
  redis_connection& connection_to(const std::string& address);
  /// Groups `todo` by master; commands no master serves fail in `result`.
  std::map<std::string, node_batch>
  route(const std::vector<redis_command>& commands,
        const std::vector<std::size_t>& todo,
        const std::vector<std::string>& ask_at, pipeline_result& result);
  /// What a round of sending met besides replies.
  struct round_outcome {
    bool redirected = false; // MOVED or ASK
    bool busy = false;       // TRYAGAIN: a slot half migrated
  };
  /// Moves a node's replies into `result`; returns the positions to send
  /// again, noting where ASK points in `ask_at`.
  std::vector<std::size_t> collect(node_batch& batch,
                                   std::vector<redis_reply>& replies,
                                   std::vector<std::string>& ask_at,
                                   pipeline_result& result,
                                   round_outcome& round);

  std::vector<redis_endpoint> seeds_;
  std::string username_;
  std::string password_;
  redis_tls_options tls_;
  std::chrono::milliseconds timeout_;
  replication_wait wait_;
  redis_command wait_command_;
  cluster_slots::slot_map slots_;
  bool slots_stale_ = true;
  std::map<std::string, std::unique_ptr<redis_connection>> connections_;
};

} // namespace motorhead
