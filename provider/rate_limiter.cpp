#include "provider/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace motorhead {

namespace {

constexpr double ms_per_minute = 60000.0;

} // namespace

void rate_limiter::bucket::refill(double elapsed_ms) {
  level = std::min(capacity, level + capacity * elapsed_ms / ms_per_minute);
}

double rate_limiter::bucket::wait_ms(double amount) const {
  if (capacity == 0)
    return 0;
  amount = std::min(amount, capacity);
  if (level >= amount)
    return 0;
  return (amount - level) * ms_per_minute / capacity;
}

rate_limiter::rate_limiter(uint64_t requests_per_minute,
                           uint64_t tokens_per_minute) {
  requests_.capacity = requests_.level = static_cast<double>(requests_per_minute);
  tokens_.capacity = tokens_.level = static_cast<double>(tokens_per_minute);
}

std::chrono::milliseconds rate_limiter::acquire(time_point now,
                                                uint64_t tokens) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (started_) {
    auto elapsed = std::chrono::duration<double, std::milli>(now - last_).count();
    if (elapsed > 0) {
      requests_.refill(elapsed);
      tokens_.refill(elapsed);
      last_ = now;
    }
  } else {
    started_ = true;
    last_ = now;
  }
  auto amount = static_cast<double>(tokens);
  auto wait = std::max(requests_.wait_ms(1), tokens_.wait_ms(amount));
  if (wait > 0)
    return std::chrono::milliseconds{static_cast<int64_t>(std::ceil(wait))};
  if (requests_.capacity > 0)
    requests_.level -= 1;
  if (tokens_.capacity > 0)
    tokens_.level -= std::min(amount, tokens_.capacity);
  return std::chrono::milliseconds{0};
}

} // namespace motorhead
