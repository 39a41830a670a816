// The clock leases are measured on: CLOCK_BOOTTIME, which keeps counting
// while the machine is suspended (steady_clock, CLOCK_MONOTONIC, stops: a
// node woken from a suspend would believe its lease had not run on).
#pragma once

#include <chrono>
#include <ctime>

namespace motorhead {

struct boot_clock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<boot_clock>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return time_point{std::chrono::seconds{ts.tv_sec}
                      + std::chrono::nanoseconds{ts.tv_nsec}};
  }
};

} // namespace motorhead
