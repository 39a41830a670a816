#pragma once

#include <chrono>
#include <cstdint>

namespace motorhead {

/// Milliseconds since the Unix epoch: the health answer and index scores.
inline int64_t unix_time_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

/// Microseconds since the Unix epoch: a cluster member's incarnation.
inline uint64_t unix_time_us() {
  using namespace std::chrono;
  return static_cast<uint64_t>(
    duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
}

} // namespace motorhead
