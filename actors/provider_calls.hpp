// How a node's provider calls are made, shared by the summarizer workers and
// the embedder: over one transport (one curl thread), retried alike.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/send.hpp>

#include "actors/protocol.hpp"
#include "core/metrics.hpp"
#include "provider/curl_transport.hpp"
#include "provider/retry_policy.hpp"

namespace motorhead {

struct provider_calls {
  std::shared_ptr<provider_transport> transport;
  backoff_policy backoff;
  std::chrono::milliseconds timeout{60000};
  /// A number in [0, 1) for the backoff's jitter.
  std::function<double()> jitter;

  /// The wait before attempt `attempt` + 1, at least the Retry-After.
  std::chrono::milliseconds retry_delay(unsigned attempt,
                                        const std::string& retry_after) const {
    return backoff_delay(backoff, attempt, jitter(),
                         parse_retry_after(retry_after,
                                           std::chrono::system_clock::now()));
  }

  /// Sends `call`; its result comes back to `actor`, from the transport's
  /// thread, as (provider_reply, id, result). The call counts in the
  /// provider metrics under `purpose`.
  template <class Handle>
  void submit(http_call call, metrics::provider_purpose purpose, Handle actor,
              uint64_t id) const {
    auto started = std::chrono::steady_clock::now();
    transport->submit(std::move(call), [actor, id, purpose,
                                        started](http_result result) {
      std::chrono::duration<double> took = std::chrono::steady_clock::now()
                                           - started;
      metrics::global().record_provider_call(purpose, metrics_result(result),
                                             took.count());
      caf::anon_send(actor, provider_reply_atom::value, id, std::move(result));
    });
  }
};

} // namespace motorhead
