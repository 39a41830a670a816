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

} // namespace motorhead
