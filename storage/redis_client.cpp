#include "storage/redis_client.hpp"

#include <optional>

#include "core/log.hpp"
#include "storage/redis_cluster.hpp"

namespace motorhead {

namespace {

/// One Redis, or the master that the sentinels name, over one connection
/// that has every pipeline sent in flight until it is received.
class single_redis final : public redis_client {
public:
  single_redis(redis_target target, std::chrono::milliseconds timeout,
               replication_wait wait)
    : connection_(std::move(target), timeout), wait_(wait),
      wait_command_(wait_command(wait)) {
  }

  void send(std::vector<redis_command> commands, bool writes) override {
    std::vector<routed_command> routed;
    routed.reserve(commands.size() + 1);
    for (const auto& command : commands)
      routed.push_back({&command});
    bool waits = writes && wait_.replicas > 0;
    if (waits)
      routed.push_back({&wait_command_});
    auto& pipeline = in_flight_.emplace_back(
      pipeline_in_flight{pipeline_result(routed.size()), false, waits});
    pipeline.sent = connection_.send(routed, pipeline.result);
  }

  pipeline_result receive() override {
    auto pipeline = std::move(in_flight_.front());
    in_flight_.pop_front();
    auto& result = pipeline.result;
    if (pipeline.sent)
      connection_.receive(result.replies, result);
    if (pipeline.waits) {
      result.replication_shortfall
        = replication_shortfall(result.replies.back(), wait_.replicas);
      result.replies.pop_back();
    }
    return std::move(result);
  }

  outcome<redis_topology> topology() override {
    return {redis_topology::single, {}};
  }

private:
  struct pipeline_in_flight {
    pipeline_result result;
    bool sent;
    bool waits; // ends with the WAIT for the replicas
  };

  redis_connection connection_;
  replication_wait wait_;
  redis_command wait_command_;
  std::deque<pipeline_in_flight> in_flight_;
};

/// Asks the first seed that answers whether it runs in cluster mode, then
/// hands every pipeline to a client of the kind it found. Pipelines sent
/// before that fail.
class detected_redis final : public redis_client {
public:
  explicit detected_redis(redis_options options)
    : options_(std::move(options)) {
  }

  void send(std::vector<redis_command> commands, bool writes) override {
    if (auto known = topology(); !known) {
      pipeline_result failed(commands.size());
      failed.fail(known.error, false);
      in_flight_.push_back(std::move(failed));
      return;
    }
    detected_->send(std::move(commands), writes);
    in_flight_.push_back(std::nullopt);
  }

  pipeline_result receive() override {
    auto failed = std::move(in_flight_.front());
    in_flight_.pop_front();
    return failed ? std::move(*failed) : detected_->receive();
  }

  outcome<redis_topology> topology() override {
    if (!detect()) // each seed's error says it is unreachable, and why
      return outcome<redis_topology>::failure(why_unknown_);
    return detected_->topology();
  }

private:
  bool detect() {
    if (detected_)
      return true;
    why_unknown_.clear();
    for (const auto& seed : options_.seeds) {
      redis_target target;
      target.server = seed;
      target.tls = options_.target.tls;
      redis_connection probe{target, options_.timeout};
      auto result = probe.execute({{"INFO", "cluster"}});
      if (!result.complete()) {
        why_unknown_ += (why_unknown_.empty() ? "" : "; ") + result.error;
        continue;
      }
      // A cluster node always answers INFO; a server that refuses it (a
      // hosted Redis may rename it) is taken for a single one.
      const auto& info = result.replies.front();
      auto cluster = !info.is_error()
                     && info.text.find("cluster_enabled:1") != std::string::npos;
      log_info("redis", cluster ? "Redis Cluster detected"
                                : "a single Redis detected");
      options_.topology = cluster ? redis_options::mode::cluster
                                  : redis_options::mode::single;
      detected_ = make_redis_client(options_);
      return true;
    }
    return false;
  }

  redis_options options_;
  std::unique_ptr<redis_client> detected_;
  std::string why_unknown_;
  /// For each pipeline sent and not yet received, oldest first: its result
  /// if it failed before reaching a client, or nothing.
  std::deque<std::optional<pipeline_result>> in_flight_;
};

} // namespace

void one_pipeline_at_a_time::send(std::vector<redis_command> commands,
                                  bool writes) {
  queued_.push_back({std::move(commands), writes});
}

pipeline_result one_pipeline_at_a_time::receive() {
  auto pipeline = std::move(queued_.front());
  queued_.pop_front();
  return run(pipeline.commands, pipeline.writes);
}

std::unique_ptr<redis_client> make_redis_client(redis_options options) {
  // Sentinels watch a master with replicas, never a cluster.
  if (options.target.uses_sentinels()
      || options.topology == redis_options::mode::single)
    return std::make_unique<single_redis>(std::move(options.target),
                                          options.timeout, options.wait);
  if (options.topology == redis_options::mode::cluster)
    return std::make_unique<redis_cluster>(std::move(options.seeds),
                                           std::move(options.target.tls),
                                           options.timeout, options.wait);
  return std::make_unique<detected_redis>(std::move(options));
}

redis_command wait_command(const replication_wait& wait) {
  return {"WAIT", std::to_string(wait.replicas),
          std::to_string(wait.timeout.count())};
}

std::string replication_shortfall(const redis_reply& reply,
                                  std::size_t replicas) {
  // The writes before it may have been answered: a sentinel turning the
  // master into a replica kills its clients while WAIT holds them.
  if (reply.is_missing())
    return "the connection was lost before the replicas confirmed the write";
  if (reply.is_error())
    return reply.text;
  if (reply.type != redis_reply::kind::integer)
    return "WAIT gave no count of replicas";
  if (reply.integer >= 0 && static_cast<std::size_t>(reply.integer) >= replicas)
    return {};
  return "the write reached " + std::to_string(reply.integer) + " of the "
         + std::to_string(replicas) + " replicas required in time";
}

} // namespace motorhead
