// Small text helpers shared by the configuration, the HTTP layer, the log,
// the metrics, the tokenizer and the summarizer.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace motorhead {

/// `text` without leading and trailing `blanks` (spaces and tabs unless
/// told).
inline std::string_view trim(std::string_view text,
                             std::string_view blanks = " \t") {
  auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos)
    return {};
  auto last = text.find_last_not_of(blanks);
  return text.substr(first, last - first + 1);
}

/// `c` in lower case if it is an ASCII upper-case letter; any other byte
/// as it is. (The "C" locale's std::tolower says the same, at the cost of
/// a call.)
inline char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

/// Appends `text` with backslash, double quote and newline escaped by a
/// backslash ("\n" for the newline): a Prometheus label value, or a
/// quoted value of a text log line.
inline void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\\' || c == '"')
      out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
}

/// "host:port", with an IPv6 address in brackets: "[::1]:8000".
inline std::string host_port(std::string_view host, unsigned port) {
  auto bracket = host.find(':') != std::string_view::npos
                 && host.substr(0, 1) != "[";
  return (bracket ? "[" : "") + std::string{host} + (bracket ? "]:" : ":")
         + std::to_string(port);
}

/// The value of the hex digit `c` (either case), or -1 when it is none.
inline int hex_digit_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// The host and the port of "host:port" or "[v6]:port", the host without
/// its brackets and the port as written; none without a colon.
inline std::optional<std::pair<std::string_view, std::string_view>>
split_host_port(std::string_view address) {
  auto colon = address.rfind(':');
  if (colon == std::string_view::npos)
    return std::nullopt;
  auto host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return std::pair{host, address.substr(colon + 1)};
}

} // namespace motorhead
