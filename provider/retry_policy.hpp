// What to do with a failed provider call: retry (timeouts, connection
// errors, 429, 5xx, an unreadable answer) with exponential backoff and
// jitter, honouring Retry-After; or give up (other 4xx).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/metrics.hpp"
#include "provider/http_call.hpp"

namespace motorhead {

enum class call_outcome { succeeded, retryable, permanent };

call_outcome classify(const http_result& result);

/// How the call ended, as motorhead_provider_calls_total counts it.
metrics::provider_call_result metrics_result(const http_result& result);

/// Seconds ("120") or an HTTP date; nullopt when absent or unreadable.
std::optional<std::chrono::milliseconds>
parse_retry_after(const std::string& value,
                  std::chrono::system_clock::time_point now);

struct backoff_policy {
  std::chrono::milliseconds base{500};
  std::chrono::milliseconds cap{30000};
  unsigned max_attempts = 5;
};

/// Delay before attempt `attempt` + 1 (attempt counts from 1): half of
/// base * 2^(attempt-1), capped, plus `jitter` (0..1) of the other half; never
/// shorter than what the provider asked for in Retry-After.
std::chrono::milliseconds
backoff_delay(const backoff_policy& policy, unsigned attempt, double jitter,
              std::optional<std::chrono::milliseconds> retry_after);

/// One line for the log: the status or transport error and the provider's
/// own error text.
std::string describe_failure(const http_result& result);

} // namespace motorhead
