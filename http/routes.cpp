#include "http/routes.hpp"

#include <array>
#include <charconv>
#include <string>
#include <vector>

#include "core/session_id.hpp"
#include "core/text.hpp"
#include "core/utf8.hpp"

namespace motorhead::http {

namespace {

outcome<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      int hi = i + 2 < text.size() ? hex_digit_value(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? hex_digit_value(text[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return outcome<std::string>::failure("bad percent-encoding in the URL");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return {std::move(out), {}};
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = std::min(text.find(separator, start), text.size());
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

/// Reads query parameter `name` as a number in [1, 100].
outcome<uint32_t> page_parameter(const request_target& target,
                                 const std::string& name,
                                 uint32_t default_value) {
  using result = outcome<uint32_t>;
  auto it = target.query.find(name);
  if (it == target.query.end())
    return {default_value, {}};
  const auto& text = it->second;
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(),
                                   value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 1
      || value > 100)
    return result::failure("\"" + name
                           + "\" must be a whole number from 1 to 100");
  return {value, {}};
}

/// What is left of `path` after its first `length` bytes; "/" for nothing.
std::string_view rest_of(std::string_view path, std::size_t length) {
  return length < path.size() ? path.substr(length) : std::string_view{"/"};
}

/// Takes `prefix` ("/motorhead") off the start of `path` when it is a
/// whole segment there.
bool strip_segment(std::string_view& path, std::string_view prefix) {
  if (path.substr(0, prefix.size()) != prefix
      || (path.size() > prefix.size() && path[prefix.size()] != '/'))
    return false;
  path = rest_of(path, prefix.size());
  return true;
}

/// Takes "/key/{KEY}" off the start of `path` into `key` (still encoded,
/// so that a key may hold an encoded slash).
bool strip_path_key(std::string_view& path, std::string_view& key) {
  constexpr std::string_view marker = "/key/";
  if (path.substr(0, marker.size()) != marker)
    return false;
  auto end = std::min(path.find('/', marker.size()), path.size());
  key = path.substr(marker.size(), end - marker.size());
  path = rest_of(path, end);
  return true;
}

/// Takes n8n's "/motorhead" and a key off the raw path, each at most once
/// and in either order; true when a key was there.
bool strip_client_prefixes(std::string_view& path, std::string_view& key) {
  constexpr std::string_view n8n_prefix = "/motorhead";
  bool prefixed = strip_segment(path, n8n_prefix);
  if (!strip_path_key(path, key))
    return false;
  if (!prefixed)
    strip_segment(path, n8n_prefix);
  return true;
}

} // namespace

outcome<request_target> parse_target(std::string_view target) {
  using result = outcome<request_target>;
  request_target out;
  auto question = target.find('?');
  auto raw_path = target.substr(0, question);
  std::string_view raw_key;
  if (strip_client_prefixes(raw_path, raw_key)) {
    auto key = percent_decode(raw_key, false);
    if (!key)
      return result::failure("bad percent-encoding in the URL");
    out.path_key = std::move(*key.value);
  }
  auto path = percent_decode(raw_path, false);
  if (!path)
    return result::failure(path.error);
  if (!is_valid_utf8(*path.value))
    return result::failure("the URL's path is not valid UTF-8");
  out.path = std::move(*path.value);
  if (question == std::string_view::npos)
    return {std::move(out), {}};
  for (auto pair : split(target.substr(question + 1), '&')) {
    if (pair.empty())
      continue;
    auto equals = pair.find('=');
    auto key = percent_decode(pair.substr(0, equals), true);
    auto value = percent_decode(
      equals == std::string_view::npos ? std::string_view{}
                                       : pair.substr(equals + 1),
      true);
    if (!key || !value)
      return result::failure("bad percent-encoding in the query");
    if (!is_valid_utf8(*key.value) || !is_valid_utf8(*value.value))
      return result::failure("the URL's query is not valid UTF-8");
    out.query[*key.value] = std::move(*value.value);
  }
  return {std::move(out), {}};
}

namespace {

route_match route_to(route_kind kind, std::string session_id = {}) {
  return {kind, std::move(session_id), {}};
}

route_match of_namespace(route_kind kind, std::string ns) {
  return {kind, {}, std::move(ns)};
}

/// The segments of a path that has at most four ("/sessions/{id}/memory"
/// has "", "sessions", id and "memory"), read in place: `count` is 5 for
/// a longer one, which no route has.
struct path_segments {
  std::array<std::string_view, 4> parts;
  std::size_t count = 0;
};

path_segments segments_of(std::string_view path) {
  path_segments out;
  std::size_t start = 0;
  while (start <= path.size()) {
    if (out.count == out.parts.size()) {
      out.count = out.parts.size() + 1;
      break;
    }
    auto end = std::min(path.find('/', start), path.size());
    out.parts[out.count++] = path.substr(start, end - start);
    start = end + 1;
  }
  return out;
}

} // namespace

route_match match_route(const std::string& path) {
  using namespace std::string_view_literals;
  static constexpr std::pair<std::string_view, route_kind> fixed[] = {
    {"/"sv, route_kind::health},
    {"/healthz"sv, route_kind::healthz},
    {"/readyz"sv, route_kind::readyz},
    {"/sessions"sv, route_kind::sessions},
    {"/cluster"sv, route_kind::cluster},
    {"/metrics"sv, route_kind::metrics},
    {"/settings"sv, route_kind::settings},
    {"/keys/current"sv, route_kind::keys_current},
    {"/openapi.json"sv, route_kind::openapi},
    {"/ui"sv, route_kind::admin_ui}};
  std::string_view text{path};
  for (const auto& [fixed_path, kind] : fixed)
    if (text == fixed_path)
      return route_to(kind);
  if (text.rfind("/ui/", 0) == 0)
    return route_to(route_kind::admin_ui);
  auto [parts, count] = segments_of(text);
  if (count < 3 || !parts[0].empty())
    return route_to(route_kind::not_found);
  if (count == 3 && parts[1] == "sessions")
    return route_to(route_kind::session, std::string{parts[2]});
  if (count == 3 && parts[1] == "namespaces")
    return of_namespace(route_kind::namespace_root, std::string{parts[2]});
  if (count == 4 && parts[1] == "namespaces" && parts[3] == "retrieval")
    return of_namespace(route_kind::namespace_retrieval,
                        std::string{parts[2]});
  if (count == 4 && parts[1] == "sessions") {
    if (parts[3] == "memory")
      return route_to(route_kind::memory, std::string{parts[2]});
    if (parts[3] == "retrieval")
      return route_to(route_kind::retrieval, std::string{parts[2]});
  }
  return route_to(route_kind::not_found);
}

route_kind route_of_target(std::string_view target) {
  auto parsed = parse_target(target);
  return parsed ? match_route(parsed.value->path).kind : route_kind::not_found;
}

std::string_view route_template(route_kind kind) {
  switch (kind) {
    case route_kind::health:
      return "/";
    case route_kind::healthz:
      return "/healthz";
    case route_kind::readyz:
      return "/readyz";
    case route_kind::sessions:
      return "/sessions";
    case route_kind::cluster:
      return "/cluster";
    case route_kind::session:
      return "/sessions/{id}";
    case route_kind::memory:
      return "/sessions/{id}/memory";
    case route_kind::retrieval:
      return "/sessions/{id}/retrieval";
    case route_kind::namespace_retrieval:
      return "/namespaces/{ns}/retrieval";
    case route_kind::namespace_root:
      return "/namespaces/{ns}";
    case route_kind::metrics:
      return "/metrics";
    case route_kind::settings:
      return "/settings";
    case route_kind::keys_current:
      return "/keys/current";
    case route_kind::openapi:
      return "/openapi.json";
    case route_kind::admin_ui:
      return "/ui";
    case route_kind::not_found:
      break;
  }
  return "unmatched";
}

std::string allowed_methods(route_kind kind) {
  switch (kind) {
    case route_kind::memory:
      return "GET, POST, DELETE";
    case route_kind::retrieval:
    case route_kind::namespace_retrieval:
      return "POST";
    case route_kind::session:
      return "GET, PATCH";
    case route_kind::namespace_root:
      return "DELETE";
    case route_kind::not_found:
      return "";
    default:
      return "GET";
  }
}

bool is_method_allowed(route_kind kind, std::string_view method) {
  auto methods = allowed_methods(kind);
  for (auto allowed : split(methods, ','))
    if (trim(allowed) == method && !method.empty())
      return true;
  return false;
}

bool is_public(route_kind kind) {
  return kind == route_kind::health || kind == route_kind::healthz
         || kind == route_kind::readyz || kind == route_kind::openapi
         || kind == route_kind::admin_ui;
}

bool takes_a_body(std::string_view method) {
  return method == "POST" || method == "PATCH" || method == "PUT";
}

bool is_json_media_type(std::string_view content_type) {
  auto type = trim(content_type.substr(0, content_type.find(';')));
  std::string lowered;
  for (char c : type)
    lowered.push_back(ascii_lower(c));
  constexpr std::string_view application = "application/";
  constexpr std::string_view json_suffix = "+json";
  return lowered == "application/json"
         || (lowered.rfind(application, 0) == 0
             && lowered.size() > application.size() + json_suffix.size()
             && lowered.compare(lowered.size() - json_suffix.size(),
                                json_suffix.size(), json_suffix)
                  == 0);
}

outcome<session_page> parse_session_page(const request_target& target) {
  using result = outcome<session_page>;
  auto page = page_parameter(target, "page", 1);
  if (!page)
    return result::failure(page.error);
  auto size = page_parameter(target, "size", 10);
  if (!size)
    return result::failure(size.error);
  auto ns = parse_namespace(target);
  if (!ns)
    return result::failure(ns.error);
  session_page listing;
  listing.page = *page.value;
  listing.size = *size.value;
  listing.ns = std::move(*ns.value);
  auto cursor = target.query.find("cursor");
  if (cursor == target.query.end())
    return {std::move(listing), {}};
  if (target.query.count("page") > 0)
    return result::failure("give \"page\" or \"cursor\", not both");
  listing.by_cursor = true;
  if (!cursor->second.empty()) { // empty: from the first session
    auto after = parse_cursor(cursor->second);
    if (!after)
      return result::failure("\"cursor\" is not one this server gave: use "
                             "the next_cursor of the previous page, or an "
                             "empty cursor for the first");
    listing.after = std::move(*after);
  }
  return {std::move(listing), {}};
}

outcome<std::optional<std::string>>
parse_namespace(const request_target& target) {
  using result = outcome<std::optional<std::string>>;
  auto it = target.query.find("namespace");
  if (it == target.query.end())
    return {std::optional<std::string>{}, {}};
  if (!is_valid_identifier(it->second))
    return result::failure("\"namespace\" must be 1 to 256 characters of "
                           "letters, digits and . _ : @ -");
  return {it->second, {}};
}

std::string namespace_error(const std::string& ns) {
  if (is_valid_identifier(ns))
    return {};
  return "a namespace must be 1 to 256 characters of letters, digits and "
         ". _ : @ -";
}

std::string session_id_error(const std::string& id) {
  if (is_valid_identifier(id))
    return {};
  return "a session id must be 1 to 256 characters of letters, digits and "
         ". _ : @ -";
}

} // namespace motorhead::http
