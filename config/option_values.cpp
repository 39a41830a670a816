#include "config/option_values.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>

namespace motorhead {

std::optional<uint64_t> parse_whole_number(std::string_view text, uint64_t min,
                                           uint64_t max) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(),
                                   value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min
      || value > max)
    return std::nullopt;
  return value;
}

std::string lowercase(std::string_view text) {
  std::string lower{text};
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return lower;
}

std::optional<bool> parse_bool(std::string_view text) {
  auto lower = lowercase(text);
  if (lower == "true" || lower == "1" || lower == "yes")
    return true;
  if (lower == "false" || lower == "0" || lower == "no")
    return false;
  return std::nullopt;
}

std::string listed(const std::vector<std::string>& names,
                   std::string_view conjunction) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0)
      text += i + 1 == names.size() ? " " + std::string{conjunction} + " "
                                    : ", ";
    text += names[i];
  }
  return text;
}

namespace {

bool is_address(std::string_view text) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string{text}, ec);
  return !ec;
}

/// RFC 1123's letters, digits and hyphens, and underscores: Docker and
/// Compose name containers and services with them, and resolve them.
bool is_host_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-'
      || label.back() == '-')
    return false;
  return std::all_of(label.begin(), label.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_';
  });
}

bool is_host_name(std::string_view text) {
  if (text.empty() || text.size() > 253)
    return false;
  if (text.back() == '.') // the root: "example.com."
    text.remove_suffix(1);
  for (std::size_t start = 0; start <= text.size();) {
    auto dot = std::min(text.find('.', start), text.size());
    if (!is_host_label(text.substr(start, dot - start)))
      return false;
    start = dot + 1;
  }
  return true;
}

/// host, host:port, [v6] or [v6]:port.
bool is_authority(std::string_view text) {
  if (auto at = text.rfind('@'); at != std::string_view::npos)
    text.remove_prefix(at + 1); // user:password@
  std::string_view host = text;
  std::optional<std::string_view> port;
  if (text.substr(0, 1) == "[") {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return false;
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':')
      return false;
    if (!rest.empty())
      port = rest.substr(1);
    if (host.find(':') == std::string_view::npos || !is_address(host))
      return false;
  } else {
    if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
    }
    if (!is_host_or_address(host) || host.find(':') != std::string_view::npos)
      return false;
  }
  return !port || parse_whole_number(*port, 1, 65535).has_value();
}

} // namespace

bool is_host_or_address(std::string_view text) {
  return is_address(text) || is_host_name(text);
}

bool is_http_url(std::string_view text) {
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos)
    return false;
  auto scheme = lowercase(text.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https")
    return false;
  auto rest = text.substr(scheme_end + 3);
  auto authority = rest.substr(0, rest.find_first_of("/?#"));
  return is_authority(authority);
}

std::string without_secrets(std::string_view url) {
  std::string shown{url};
  auto scheme = shown.find("://");
  auto start = scheme == std::string::npos ? 0 : scheme + 3;
  auto path = shown.find_first_of("/?#", start);
  auto at = shown.rfind('@', path);
  if (at != std::string::npos && at >= start)
    shown.replace(start, at - start, "(hidden)");
  if (auto query = shown.find('?'); query != std::string::npos)
    shown.replace(query + 1, std::string::npos, "(hidden)");
  return shown;
}

std::string check_readable_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    return std::strerror(errno);
  if (S_ISDIR(info.st_mode))
    return "is a folder, not a file";
  if (::access(path.c_str(), R_OK) != 0)
    return std::strerror(errno);
  return {};
}

std::string check_readable_folder(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    return std::strerror(errno);
  if (!S_ISDIR(info.st_mode))
    return "is not a folder";
  if (::access(path.c_str(), R_OK | X_OK) != 0)
    return std::strerror(errno);
  return {};
}

std::string closest_name(std::string_view name,
                         const std::vector<std::string>& known) {
  // A name cut short ("MOTORHEAD_LOG") means the shortest it starts.
  std::string shortest;
  for (const auto& candidate : known)
    if (candidate.rfind(name, 0) == 0
        && (shortest.empty() || candidate.size() < shortest.size()))
      shortest = candidate;
  if (!shortest.empty())
    return shortest;
  std::string best;
  auto best_distance = std::string::npos;
  std::vector<std::size_t> row;
  for (const auto& candidate : known) {
    // One row of the edit-distance table at a time.
    row.resize(candidate.size() + 1);
    for (std::size_t j = 0; j <= candidate.size(); ++j)
      row[j] = j;
    for (std::size_t i = 1; i <= name.size(); ++i) {
      auto diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= candidate.size(); ++j) {
        auto above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                           diagonal + (name[i - 1] == candidate[j - 1] ? 0 : 1)});
        diagonal = above;
      }
    }
    if (row.back() < best_distance) {
      best_distance = row.back();
      best = candidate;
    }
  }
  return best;
}

option_value bool_option(field_of<bool> target) {
  static const std::string allowed
    = "true or false (also 1 or 0, yes or no; any case)";
  return {[=](const std::string& text, settings& cfg) {
            auto value = parse_bool(text);
            if (!value)
              return "expected " + allowed;
            target(cfg) = *value;
            return std::string{};
          },
          allowed};
}

option_value text_option(field_of<std::string> target) {
  return {[=](const std::string& text, settings& cfg) {
            target(cfg) = text;
            return std::string{};
          },
          ""};
}

namespace {

/// Any text `check` accepts (it returns "" for those, else the error).
option_value checked_text(field_of<std::string> target,
                          std::function<std::string(const std::string&)> check,
                          std::string allowed) {
  return {[=](const std::string& text, settings& cfg) {
            if (auto err = check(text); !err.empty())
              return err;
            target(cfg) = text;
            return std::string{};
          },
          std::move(allowed)};
}

} // namespace

option_value host_option(field_of<std::string> target) {
  return checked_text(
    target,
    [](const std::string& text) {
      return is_host_or_address(text)
               ? std::string{}
               : "expected an IP address (such as 0.0.0.0 or ::) or a host "
                 "name";
    },
    "an IP address or a host name");
}

option_value url_option(field_of<std::string> target) {
  return checked_text(
    target,
    [](const std::string& text) {
      return is_http_url(text) ? std::string{}
                               : "expected an http:// or https:// URL";
    },
    "an http:// or https:// URL");
}

option_value file_option(field_of<std::string> target) {
  return checked_text(
    target,
    [](const std::string& path) {
      auto err = check_readable_file(path);
      return err.empty() ? err : "expected a readable file: " + err;
    },
    "a readable file");
}

} // namespace motorhead
