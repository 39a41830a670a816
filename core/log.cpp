#include "core/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <vector>

#include "core/json_codec.hpp"
#include "core/text.hpp"
#include "core/utf8.hpp"

namespace motorhead {

namespace {

std::atomic<log_level> min_level{log_level::info};
std::atomic<log_format> format{log_format::text};
std::mutex write_mutex;

/// UTC with milliseconds: "2026-11-25T09:14:03.271Z".
std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              now.time_since_epoch())
              .count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03dZ",
                static_cast<int>(ms % 1000));
  return text;
}

/// A value that needs no quotes in the text format: no space, quote,
/// equals sign or control character, and not empty.
bool is_bare(std::string_view value) {
  if (value.empty())
    return false;
  for (unsigned char c : value)
    if (c <= ' ' || c == '"' || c == '=' || c == 0x7f)
      return false;
  return true;
}

void append_quoted(std::string& out, std::string_view value) {
  out.push_back('"');
  append_escaped(out, value);
  out.push_back('"');
}

std::string text_record(std::string_view time, log_level level,
                        std::string_view component, std::string_view message,
                        const std::vector<log_field>& fields) {
  static constexpr std::string_view upper[] = {"DEBUG", "INFO", "WARN",
                                               "ERROR"};
  std::string line;
  line.reserve(64 + message.size());
  line += time;
  line.push_back(' ');
  line += upper[static_cast<int>(level)];
  line.push_back(' ');
  line += component;
  line += ": ";
  line += message;
  for (const auto& field : fields) {
    line.push_back(' ');
    line += field.name;
    line.push_back('=');
    if (field.is_number || is_bare(field.value))
      line += field.value;
    else
      append_quoted(line, field.value);
  }
  return line;
}

} // namespace

std::string_view to_string(log_level level) {
  switch (level) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      break;
  }
  return "error";
}

void configure_log(log_level level, log_format fmt) {
  min_level.store(level, std::memory_order_relaxed);
  format.store(fmt, std::memory_order_relaxed);
}

bool log_enabled(log_level level) noexcept {
  return level >= min_level.load(std::memory_order_relaxed);
}

void log_record(log_level level, std::string_view component,
                std::string_view message,
                std::initializer_list<log_field> fields) {
  if (!log_enabled(level))
    return;
  // Text from elsewhere (a provider's error page) may be any bytes; a JSON
  // line must stay decodable, and a text line readable.
  std::string valid_message = to_valid_utf8(message);
  std::vector<log_field> valid_fields(fields);
  for (auto& field : valid_fields)
    if (!is_valid_utf8(field.value))
      field.value = to_valid_utf8(field.value);
  auto time = timestamp();
  auto line = format.load(std::memory_order_relaxed) == log_format::json
                ? json::encode_log_record(time, level, component,
                                          valid_message, valid_fields)
                : text_record(time, level, component, valid_message,
                              valid_fields);
  line.push_back('\n');
  std::lock_guard<std::mutex> guard{write_mutex};
  std::fwrite(line.data(), 1, line.size(), stderr);
}

burst_filter::verdict burst_filter::admit(std::string_view kind,
                                           clock::time_point now) {
  std::lock_guard<std::mutex> lock{mutex_};
  auto it = kinds_.find(kind);
  if (it == kinds_.end()) {
    // A flood of distinct texts must not grow the map without bound: the
    // filter forgets every burst and starts over.
    if (kinds_.size() >= max_kinds)
      kinds_.clear();
    kinds_.emplace(std::string{kind}, burst{now, now, 0});
    return {true, 0};
  }
  auto& b = it->second;
  bool new_burst = now - b.last_seen >= quiet;
  b.last_seen = now;
  if (!new_burst && now - b.last_logged < reminder) {
    ++b.suppressed;
    return {false, 0};
  }
  verdict v{true, b.suppressed};
  b.last_logged = now;
  b.suppressed = 0;
  return v;
}

void log_filtered(burst_filter& filter, log_level level,
                  std::string_view component, const std::string& message) {
  auto verdict = filter.admit(message);
  if (!verdict.log)
    return;
  if (verdict.suppressed == 0)
    log_record(level, component, message);
  else
    log_record(level, component, message,
               {number_field("not_logged_since", verdict.suppressed)});
}

outage_log::outage_log(std::string component, std::string what)
  : component_(std::move(component)), what_(std::move(what)) {}

namespace {

std::string seconds_between(outage_log::clock::time_point from,
                            outage_log::clock::time_point to) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(to - from);
  auto text = std::to_string(ms.count() / 1000) + "."
              + std::to_string(ms.count() % 1000 / 100) + " s";
  return text;
}

} // namespace

void outage_log::failed(std::string_view why, clock::time_point now) {
  std::lock_guard<std::mutex> lock{mutex_};
  ++failures_;
  last_failure_ = now;
  if (!down_) {
    down_ = true;
    failures_ = 1;
    since_ = last_logged_ = now;
    log_error(component_, why);
    return;
  }
  if (now - last_logged_ < burst_filter::reminder)
    return;
  last_logged_ = now;
  log_error(component_, std::string{why} + " (failing for "
                          + seconds_between(since_, now) + ", "
                          + std::to_string(failures_) + " failures)");
}

void outage_log::answered(bool whole, clock::time_point now) {
  std::lock_guard<std::mutex> lock{mutex_};
  if (!down_ || (!whole && now - last_failure_ < burst_filter::quiet))
    return;
  down_ = false;
  log_info(component_, what_ + " answers again: it failed "
                         + std::to_string(failures_) + " times over "
                         + seconds_between(since_, last_failure_));
}

} // namespace motorhead
