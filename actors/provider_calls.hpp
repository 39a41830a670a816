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
  /// thread, as (provider_reply, id, result).
  template <class Handle>
  void submit(http_call call, Handle actor, uint64_t id) const {
    transport->submit(std::move(call), [actor, id](http_result result) {
      caf::anon_send(actor, provider_reply_atom::value, id, std::move(result));
    });
  }
};

} // namespace motorhead
