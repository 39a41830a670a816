// The log: one line per record on stderr, as text or as JSON
// (MOTORHEAD_LOG_FORMAT), records below MOTORHEAD_LOG_LEVEL dropped. Callers
// never pass an API key or a raw request path: route templates only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <initializer_list>
#include <string>
#include <string_view>

namespace motorhead {

enum class log_level { debug, info, warn, error };
enum class log_format { text, json };

std::string_view to_string(log_level level);

/// A named value on a record: a JSON number when `is_number`, else a string.
struct log_field {
  std::string_view name;
  std::string value;
  bool is_number = false;
};

inline log_field text_field(std::string_view name, std::string value) {
  return {name, std::move(value), false};
}

inline log_field number_field(std::string_view name, double value) {
  auto text = std::to_string(value);
  text.erase(text.find_last_not_of('0') + 1); // "1.500000" -> "1.5"
  if (text.back() == '.')
    text.pop_back();
  return {name, std::move(text), true};
}

inline log_field number_field(std::string_view name, uint64_t value) {
  return {name, std::to_string(value), true};
}

/// Sets the level and format; the defaults are info and text. Call before
/// other threads log.
void configure_log(log_level level, log_format format);

bool log_enabled(log_level level) noexcept;

/// Writes one record, when its level is enabled: "<time> <LEVEL>
/// <component>: <message> name=value ..." or one JSON object. Thread-safe;
/// records never interleave.
void log_record(log_level level, std::string_view component,
                std::string_view message,
                std::initializer_list<log_field> fields = {});

inline void log_debug(std::string_view component, std::string_view message,
                      std::initializer_list<log_field> fields = {}) {
  log_record(log_level::debug, component, message, fields);
}

inline void log_info(std::string_view component, std::string_view message,
                     std::initializer_list<log_field> fields = {}) {
  log_record(log_level::info, component, message, fields);
}

inline void log_warn(std::string_view component, std::string_view message,
                     std::initializer_list<log_field> fields = {}) {
  log_record(log_level::warn, component, message, fields);
}

inline void log_error(std::string_view component, std::string_view message,
                      std::initializer_list<log_field> fields = {}) {
  log_record(log_level::error, component, message, fields);
}

/// Tells which occurrences of a repeated failure to log: the first of a
/// burst (occurrences less than `quiet` apart: longer than a request's
/// default timeout, so that requests timing out one after another are one
/// burst), then a reminder every `reminder` while the burst lasts, each
/// with how many were not logged since the last logged one. A server that
/// cannot reach Redis says so once, not once per request.
class burst_filter {
public:
  using clock = std::chrono::steady_clock;
  static constexpr auto quiet = std::chrono::seconds{30};
  static constexpr auto reminder = std::chrono::seconds{60};
  static constexpr std::size_t max_kinds = 256;

  struct verdict {
    bool log;
    uint64_t suppressed; // since the last occurrence logged in this burst
  };

  /// `kind` tells failures apart: the error's text, say. Thread-safe.
  verdict admit(std::string_view kind, clock::time_point now = clock::now());

private:
  struct burst {
    clock::time_point last_seen;
    clock::time_point last_logged;
    uint64_t suppressed;
  };
  std::mutex mutex_;
  std::map<std::string, burst, std::less<>> kinds_;
};

/// Logs `message` when `filter` admits it (once per burst of the same
/// message), with how many like it were not logged since the last one.
void log_filtered(burst_filter& filter, log_level level,
                  std::string_view component, const std::string& message);

/// Says when something the process depends on stops answering and when it
/// answers again: the first failure of an outage at error, a reminder each
/// minute while it lasts, and the recovery at info, with how long it took.
/// An outage of one server ends with its first answer. An outage of a
/// group of servers ends with a success `burst_filter::quiet` after its
/// last failure: a Redis Cluster with one master down, whose other masters
/// answer in between, is one outage, not a line per round trip.
/// Thread-safe: every connection to the same servers reports to one.
class outage_log {
public:
  using clock = std::chrono::steady_clock;

  /// `component` as in log_record; `what`: "Redis", say.
  outage_log(std::string component, std::string what);

  void failed(std::string_view why, clock::time_point now = clock::now());
  /// `whole`: the answer came from every server there is (a single Redis,
  /// a master under Sentinel), so the outage is over.
  void answered(bool whole, clock::time_point now = clock::now());

private:
  std::string component_;
  std::string what_;
  std::mutex mutex_;
  bool down_ = false;
  uint64_t failures_ = 0;
  clock::time_point since_;
  clock::time_point last_failure_;
  clock::time_point last_logged_;
};

} // namespace motorhead
