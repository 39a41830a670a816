// The provider's rate limits (requests and tokens per minute) as two token
// buckets that refill continuously. Shared by the summarizer workers.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace motorhead {

class rate_limiter {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// Zero means no limit of that kind.
  rate_limiter(uint64_t requests_per_minute, uint64_t tokens_per_minute);

  /// Takes one request and `tokens` when both buckets hold enough and
  /// returns zero; otherwise takes nothing and returns how long to wait.
  /// A call larger than a whole minute's tokens waits for a full bucket.
  std::chrono::milliseconds acquire(time_point now, uint64_t tokens);

private:
  struct bucket {
    double capacity = 0; // 0: unlimited
    double level = 0;
    void refill(double elapsed_ms);
    double wait_ms(double amount) const;
  };

  std::mutex mtx_;
  bucket requests_;
  bucket tokens_;
  time_point last_{};
  bool started_ = false;
};

} // namespace motorhead
