// Process-wide counters, gauges and histograms for GET /metrics, and their
// Prometheus text exposition. Updates are relaxed atomic operations, so no
// hot path takes a lock to count.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace motorhead::metrics {

/// A count that only goes up (Prometheus `counter`).
class counter {
public:
  void add(uint64_t n = 1) noexcept {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<uint64_t> value_{0};
};

/// A level that goes up and down (Prometheus `gauge`).
class gauge {
public:
  void add(int64_t n = 1) noexcept {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  void sub(int64_t n = 1) noexcept { add(-n); }
  void set(int64_t n) noexcept { value_.store(n, std::memory_order_relaxed); }
  int64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<int64_t> value_{0};
};

/// Holds one unit of a gauge from its construction to its destruction:
/// a member of whatever the gauge counts.
class gauge_hold {
public:
  explicit gauge_hold(gauge& g) noexcept : gauge_(&g) { gauge_->add(); }
  ~gauge_hold() { gauge_->sub(); }
  gauge_hold(const gauge_hold&) = delete;
  gauge_hold& operator=(const gauge_hold&) = delete;

private:
  gauge* gauge_;
};

/// Observations counted in buckets with fixed upper bounds (Prometheus
/// `histogram`). A reader may see a count and a sum from slightly different
/// moments, as with every lock-free Prometheus client.
class histogram {
public:
  /// `upper_bounds` ascending; the +Inf bucket is implied.
  explicit histogram(std::vector<double> upper_bounds);

  void observe(double value) noexcept;

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  /// Observations in bucket i alone (not cumulative); the last is +Inf.
  uint64_t bucket_count(std::size_t i) const noexcept {
    return counts_[i].load(std::memory_order_relaxed);
  }
  uint64_t count() const noexcept;
  double sum() const noexcept;

private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0.0};
};

/// Request and call durations, in seconds: 0.5 ms to 10 s.
std::vector<double> latency_buckets();
/// Provider calls and folds, in seconds: 50 ms to 2 min.
std::vector<double> slow_latency_buckets();
/// Operations per Redis pipeline: powers of two up to 1024.
std::vector<double> batch_size_buckets();

/// `name="value",...`, values escaped as the text format requires.
std::string labels(
  std::initializer_list<std::pair<std::string_view, std::string_view>> pairs);

/// Builds a scrape in the Prometheus text format, version 0.0.4.
class text_writer {
public:
  /// Opens a metric family: its # HELP and # TYPE lines.
  void family(std::string_view name, std::string_view type,
              std::string_view help);
  /// One sample; `label_text` as labels() makes it, or empty.
  void sample(std::string_view name, std::string_view label_text,
              double value);
  /// The _bucket, _sum and _count samples of `h`.
  void histogram_samples(std::string_view name, std::string_view label_text,
                         const histogram& h);

  const std::string& text() const { return text_; }

private:
  std::string text_;
};

/// Why a provider call was made.
enum class provider_purpose { summary, embedding };
inline constexpr std::size_t provider_purpose_count = 2;

/// How a provider call ended.
enum class provider_call_result {
  ok,              // 2xx
  rate_limited,    // 429
  client_error,    // other 4xx
  server_error,    // 5xx and other statuses
  transport_error, // no answer: connection error or timeout
};
inline constexpr std::size_t provider_call_result_count = 5;

/// The process's metrics below the HTTP front.
struct server_metrics {
  server_metrics();

  // -- sessions --------------------------------------------------------------
  gauge live_sessions;
  counter session_loads;
  counter session_idle_stops;
  counter session_evictions;
  counter session_evictions_deferred;
  counter sessions_expired; // deleted by retention

  // -- folds -----------------------------------------------------------------
  gauge folds_queued;
  gauge folds_in_flight;
  counter folds_done;
  counter folds_failed;
  histogram fold_seconds;

  // -- model provider --------------------------------------------------------
  std::array<std::array<counter, provider_call_result_count>,
             provider_purpose_count>
    provider_calls;
  std::array<histogram, provider_purpose_count> provider_call_seconds;
  counter provider_tokens;

  // -- Redis -----------------------------------------------------------------
  counter redis_round_trips;
  counter redis_commands;
  counter redis_errors;
  counter redis_redirections;
  counter redis_slot_map_refreshes;
  histogram commit_batch_operations;

  // -- cluster ---------------------------------------------------------------
  gauge cluster_members;
  gauge cluster_view_version;
  counter forwarded_requests;
  counter forward_failures;

  void record_provider_call(provider_purpose purpose,
                            provider_call_result result, double seconds);

  /// Appends every family to `out`.
  void render(text_writer& out) const;
};

/// The one instance the server updates and GET /metrics reads.
server_metrics& global();

} // namespace motorhead::metrics
