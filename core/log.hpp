// The log: one line per record on stderr, as text or as JSON
// (MOTORHEAD_LOG_FORMAT), records below MOTORHEAD_LOG_LEVEL dropped. Callers
// never pass an API key or a raw request path: route templates only.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace motorhead {

enum class log_level { debug, info, warn, error };
enum class log_format { text, json };

/// "debug", "info", "warn" or "error"; nullopt for anything else.
std::optional<log_level> parse_log_level(std::string_view text);
/// "text" or "json"; nullopt for anything else.
std::optional<log_format> parse_log_format(std::string_view text);
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

} // namespace motorhead
