#include "storage/redis_cluster.hpp"

#include <algorithm>
#include <numeric>
#include <thread>

#include "core/log.hpp"
#include "core/metrics.hpp"

namespace motorhead {

namespace {

/// The slot map is refreshed before each round trip while it is stale:
/// while the cluster is down, its failures are logged once per burst.
void log_slot_failure(const std::string& failure) {
  static burst_filter repeats;
  log_filtered(repeats, log_level::error, "redis", failure);
}

/// Redirections a command may go through in one call. A slot moves once
/// per resharding step; more means the map keeps changing.
constexpr int max_redirections = 5;

/// Pause before sending again commands whose slot is half migrated
/// (TRYAGAIN): they are sent again until the call's timeout has passed.
constexpr std::chrono::milliseconds try_again_pause{10};

} // namespace

redis_cluster::redis_cluster(std::vector<redis_endpoint> seeds,
                             redis_tls_options tls,
                             std::chrono::milliseconds timeout,
                             replication_wait wait)
  : seeds_(std::move(seeds)), tls_(std::move(tls)), timeout_(timeout),
    wait_(wait),
    wait_command_(wait_command(wait)) {
  if (!seeds_.empty()) {
    username_ = seeds_.front().username;
    password_ = seeds_.front().password;
  }
}

redis_connection& redis_cluster::connection_to(const std::string& address) {
  auto& connection = connections_[address];
  if (!connection) {
    auto endpoint = endpoint_of(address);
    redis_target target;
    target.server = endpoint ? *endpoint.value : redis_endpoint{};
    target.server.username = username_;
    target.server.password = password_;
    target.tls = tls_;
    connection = std::make_unique<redis_connection>(std::move(target),
                                                    timeout_);
  }
  return *connection;
}

std::string redis_cluster::refresh_slots() {
  metrics::global().redis_slot_map_refreshes.add();
  std::vector<std::string> candidates = slots_.masters;
  for (const auto& seed : seeds_)
    candidates.push_back(address_of(seed));
  std::string errors;
  for (const auto& address : candidates) {
    auto result = connection_to(address).execute({{"CLUSTER", "SLOTS"}});
    auto host = address.substr(0, address.rfind(':'));
    auto map = result.complete()
                 ? cluster_slots::decode_slots(result.replies.front(), host)
                 : outcome<cluster_slots::slot_map>::failure(result.error);
    if (map) {
      slots_ = std::move(*map.value);
      slots_stale_ = false;
      // Connections to servers that are no longer masters go.
      for (auto it = connections_.begin(); it != connections_.end();)
        if (std::find(slots_.masters.begin(), slots_.masters.end(), it->first)
            == slots_.masters.end())
          it = connections_.erase(it);
        else
          ++it;
      return {};
    }
    errors += "; " + address + ": " + map.error;
  }
  return "no node of the cluster gives its slot map" + errors;
}

std::map<std::string, redis_cluster::node_batch>
redis_cluster::route(const std::vector<redis_command>& commands,
                     const std::vector<std::size_t>& todo,
                     const std::vector<std::string>& ask_at,
                     pipeline_result& result) {
  std::map<std::string, node_batch> batches;
  for (auto position : todo) {
    const auto& command = commands[position];
    const std::string* address = nullptr;
    if (!ask_at[position].empty()) {
      address = &ask_at[position];
    } else if (auto key = cluster_slots::routing_key(command)) {
      address = slots_.master_of(cluster_slots::key_slot(*key));
    } else if (!slots_.masters.empty()) {
      address = &slots_.masters.front();
    }
    if (address == nullptr) {
      result.fail("no master of the Redis Cluster serves the slot of "
                  + command[0],
                  false);
      continue;
    }
    auto& batch = batches[*address];
    batch.positions.push_back(position);
    batch.commands.push_back({&command, !ask_at[position].empty()});
  }
  return batches;
}

std::vector<std::size_t>
redis_cluster::collect(node_batch& batch, std::vector<redis_reply>& replies,
                       std::vector<std::string>& ask_at,
                       pipeline_result& result, round_outcome& round) {
  std::vector<std::size_t> again;
  for (std::size_t i = 0; i < batch.positions.size(); ++i) {
    auto position = batch.positions[i];
    auto& reply = replies[i];
    if (auto redirect = cluster_slots::redirection_of(reply)) {
      if (redirect->type == cluster_slots::redirection::kind::moved) {
        slots_.assign(redirect->slot, redirect->address);
        slots_stale_ = true;
        ask_at[position].clear();
      } else {
        ask_at[position] = redirect->address;
      }
      round.redirected = true;
      again.push_back(position);
    } else if (reply.is_error("TRYAGAIN")) {
      // Sent again to the same node, after ASKING if it was asked.
      round.busy = true;
      again.push_back(position);
    } else {
      result.replies[position] = std::move(reply);
    }
  }
  if (replies.size() > batch.positions.size()) {
    auto shortfall = replication_shortfall(replies.back(), wait_.replicas);
    if (!shortfall.empty() && result.replication_shortfall.empty())
      result.replication_shortfall = shortfall;
  }
  return again;
}

pipeline_result redis_cluster::run(const std::vector<redis_command>& commands,
                                   bool writes) {
  pipeline_result result(commands.size());
  if (slots_stale_)
    if (auto err = refresh_slots(); !err.empty()) {
      log_slot_failure(err);
      if (slots_.masters.empty()) {
        result.fail("Redis Cluster is unreachable: " + err, false);
        return result;
      }
    }
  std::vector<std::size_t> todo(commands.size());
  std::iota(todo.begin(), todo.end(), 0);
  std::vector<std::string> ask_at(commands.size());
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  int redirections = 0;
  while (!todo.empty()) {
    auto batches = route(commands, todo, ask_at, result);
    for (auto& [address, batch] : batches) {
      if (writes && wait_.replicas > 0)
        batch.commands.push_back({&wait_command_});
      batch.sent = connection_to(address).send(batch.commands, result);
      slots_stale_ = slots_stale_ || !batch.sent;
    }
    todo.clear();
    round_outcome round;
    for (auto& [address, batch] : batches) {
      if (!batch.sent)
        continue;
      auto& connection = connection_to(address);
      std::vector<redis_reply> replies;
      connection.receive(replies, result);
      bool lost = std::any_of(replies.begin(), replies.end(),
                              [](const auto& r) { return r.is_missing(); });
      slots_stale_ = slots_stale_ || lost || connection.demoted();
      auto again = collect(batch, replies, ask_at, result, round);
      metrics::global().redis_redirections.add(again.size());
      todo.insert(todo.end(), again.begin(), again.end());
    }
    if (todo.empty())
      break;
    if (round.redirected && ++redirections > max_redirections) {
      result.fail("the Redis Cluster kept redirecting the commands", false);
      break;
    }
    if (round.busy
        && std::chrono::steady_clock::now() + try_again_pause > deadline) {
      result.fail("a slot of the Redis Cluster stayed half migrated", false);
      break;
    }
    if (round.busy)
      std::this_thread::sleep_for(try_again_pause);
    if (slots_stale_ && !todo.empty())
      if (auto err = refresh_slots(); !err.empty())
        log_slot_failure(err);
  }
  return result;
}

} // namespace motorhead
