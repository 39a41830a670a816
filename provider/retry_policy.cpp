#include "provider/retry_policy.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

#include "core/json_codec.hpp"

namespace motorhead {

call_outcome classify(const http_result& result) {
  if (result.succeeded())
    return call_outcome::succeeded;
  if (result.status == 0 || result.status == 408 || result.status == 409
      || result.status == 429 || result.status >= 500)
    return call_outcome::retryable;
  return call_outcome::permanent;
}

metrics::provider_call_result metrics_result(const http_result& result) {
  using metrics::provider_call_result;
  if (result.status == 0)
    return provider_call_result::transport_error;
  if (result.succeeded())
    return provider_call_result::ok;
  if (result.status == 429)
    return provider_call_result::rate_limited;
  if (result.status >= 400 && result.status < 500)
    return provider_call_result::client_error;
  return provider_call_result::server_error;
}

std::optional<std::chrono::milliseconds>
parse_retry_after(const std::string& value,
                  std::chrono::system_clock::time_point now) {
  if (value.empty())
    return std::nullopt;
  double seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(),
                                   seconds);
  if (ec == std::errc{} && end == value.data() + value.size() && seconds >= 0)
    return std::chrono::milliseconds{static_cast<int64_t>(seconds * 1000)};
  std::tm parts{};
  if (strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parts) == nullptr)
    return std::nullopt;
  auto when = std::chrono::system_clock::from_time_t(timegm(&parts));
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
  return std::max(wait, std::chrono::milliseconds{0});
}

std::chrono::milliseconds
backoff_delay(const backoff_policy& policy, unsigned attempt, double jitter,
              std::optional<std::chrono::milliseconds> retry_after) {
  auto exponent = std::min(attempt > 0 ? attempt - 1 : 0u, 20u);
  auto grown = policy.base.count() * (int64_t{1} << exponent);
  auto ceiling = std::min<int64_t>(grown, policy.cap.count());
  auto half = ceiling / 2;
  std::chrono::milliseconds delay{
    half + static_cast<int64_t>(jitter * static_cast<double>(ceiling - half))};
  if (retry_after)
    delay = std::max(delay, *retry_after);
  return delay;
}

std::string describe_failure(const http_result& result) {
  if (result.status == 0)
    return "no answer: " + result.transport_error;
  return "HTTP " + std::to_string(result.status) + ": "
         + json::provider_error_text(result.body);
}

} // namespace motorhead
