// The kinds of value a setting takes. Each parses a variable's text into a
// field of the settings and says in words what it accepts: the same words
// appear in --help, in docs/configuration.md and in the error that stops
// the start.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/settings.hpp"

namespace motorhead {

/// Applies a variable's text to the settings; returns an error or "".
using apply_fn = std::function<std::string(const std::string&, settings&)>;

struct option_value {
  apply_fn apply;
  std::string allowed; // "" when any text goes
};

/// The field of the settings a variable sets: a member, or a member of a
/// part (the Redis TLS options, say).
template <class T>
using field_of = std::function<T&(settings&)>;

template <class T>
field_of<T> field(T settings::*member) {
  return [=](settings& cfg) -> T& { return cfg.*member; };
}

template <class Part, class T>
field_of<T> field(Part settings::*part, T Part::*member) {
  return [=](settings& cfg) -> T& { return (cfg.*part).*member; };
}

std::optional<uint64_t> parse_whole_number(std::string_view text, uint64_t min,
                                           uint64_t max);
std::optional<bool> parse_bool(std::string_view text);
std::string lowercase(std::string_view text);
/// "a", "a or b", "a, b or c" (with "or" as the conjunction).
std::string listed(const std::vector<std::string>& names,
                   std::string_view conjunction);

/// An IPv4 or IPv6 address, or a host name (RFC 1123 labels).
bool is_host_or_address(std::string_view text);
/// http:// or https://, a host or address (IPv6 in brackets), an optional
/// port, and any path.
bool is_http_url(std::string_view text);
/// An http(s) URL as the log and GET /settings show it: a user, a password
/// and a query (which may carry a key) hidden.
std::string without_secrets(std::string_view url);
/// "" when `path` names a file this process can read, else why not.
std::string check_readable_file(const std::string& path);
/// "" when `path` names a folder this process can read, else why not.
std::string check_readable_folder(const std::string& path);

/// The name of `known` closest to `name`: the shortest that starts with
/// it, else the one at the least Levenshtein distance (ties to the first);
/// "" when `known` is empty.
std::string closest_name(std::string_view name,
                         const std::vector<std::string>& known);

/// A whole number from `min` to `max`: counts, sizes, and durations in
/// their unit.
template <class T>
option_value number_option(field_of<T> target, uint64_t min, uint64_t max) {
  auto allowed = "a whole number from " + std::to_string(min) + " to "
                 + std::to_string(max);
  return {[=](const std::string& text, settings& cfg) {
            auto value = parse_whole_number(text, min, max);
            if (!value)
              return "expected " + allowed;
            target(cfg) = static_cast<T>(*value);
            return std::string{};
          },
          allowed};
}

/// true or false (also 1/0 and yes/no), in any case.
option_value bool_option(field_of<bool> target);

/// One of a few names, in any case.
template <class T>
option_value choice_option(field_of<T> target,
                           std::vector<std::pair<std::string, T>> choices) {
  std::vector<std::string> names;
  for (const auto& choice : choices)
    names.push_back(choice.first);
  auto allowed = listed(names, "or");
  return {[=](const std::string& text, settings& cfg) {
            auto name = lowercase(text);
            for (const auto& [choice, value] : choices)
              if (name == choice) {
                target(cfg) = value;
                return std::string{};
              }
            return "expected " + allowed;
          },
          allowed};
}

/// Any text.
option_value text_option(field_of<std::string> target);
option_value host_option(field_of<std::string> target);
option_value url_option(field_of<std::string> target);
option_value file_option(field_of<std::string> target);

} // namespace motorhead
