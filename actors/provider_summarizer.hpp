// A summarizer worker that folds through an OpenAI-compatible provider: one
// fold at a time, split into calls that fit the model's context, each call
// retried with backoff, within the shared rate limit.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/protocol.hpp"
#include "actors/provider_calls.hpp"
#include "core/tokenizer.hpp"
#include "provider/chat_endpoint.hpp"
#include "provider/rate_limiter.hpp"
#include "provider/summary_prompt.hpp"

namespace motorhead {

/// The rate limit of a cluster: token buckets in Redis, shared by every node.
struct cluster_rate_limit {
  persistence_actor store;
  uint64_t requests_per_minute = 0;
  uint64_t tokens_per_minute = 0;
};

/// What every provider worker of a node shares.
struct provider_context {
  chat_endpoint endpoint;
  provider_calls calls;
  std::shared_ptr<const bpe_tokenizer> tokenizer;
  std::shared_ptr<const summary_prompt> prompt;
  std::shared_ptr<rate_limiter> limiter;
  /// When set, the limit is the cluster's; the local limiter stands in
  /// only while Redis cannot answer.
  std::optional<cluster_rate_limit> cluster_limit;
  prompt_budget budget;
};

struct provider_worker_state {
  /// The fold in progress.
  struct fold_in_progress {
    fold_job job;
    caf::typed_response_promise<fold_result> promise;
    std::string summary;        // grows call by call
    std::size_t next_line = 0;  // first line not yet summarized
    uint64_t tokens_used = 0;
    planned_call call;          // the call being made
    unsigned attempt = 1;
    caf::actor_clock::time_point deadline; // the requester stops waiting
  };

  std::shared_ptr<const provider_context> context;
  std::optional<fold_in_progress> fold;
  uint64_t call_id = 0; // of the attempt whose answer is awaited

  static inline const char* name = "provider_summarizer";
};

using provider_worker_pointer
  = provider_worker_actor::stateful_pointer<provider_worker_state>;

provider_worker_actor::behavior_type
provider_summarizer(provider_worker_pointer self,
                    std::shared_ptr<const provider_context> context);

} // namespace motorhead
