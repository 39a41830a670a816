// Pure request routing: target parsing, route matching and query validation.
// No I/O and no actors, so it is tested on its own.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/memory_types.hpp"
#include "core/outcome.hpp"

namespace motorhead::http {

enum class route_kind {
  health,        // GET /
  healthz,       // GET /healthz
  readyz,        // GET /readyz
  sessions,      // GET /sessions
  cluster,       // GET /cluster
  session,       // GET|PATCH /sessions/{id}
  memory,        // GET|POST|DELETE /sessions/{id}/memory
  retrieval,     // POST /sessions/{id}/retrieval
  namespace_retrieval, // POST /namespaces/{ns}/retrieval
  namespace_root, // DELETE /namespaces/{ns}
  metrics,       // GET /metrics
  settings,      // GET /settings
  keys_current,  // GET /keys/current (the Metal API's key check)
  openapi,       // GET /openapi.json
  admin_ui,      // GET /ui, /ui/{file}
  not_found,
};
inline constexpr std::size_t route_kind_count =
  static_cast<std::size_t>(route_kind::not_found) + 1; // the last

struct route_match {
  route_kind kind = route_kind::not_found;
  std::string session_id; // percent-decoded, not yet validated
  std::string ns;         // of the namespace routes, likewise
};

struct request_target {
  std::string path;
  std::map<std::string, std::string> query; // percent-decoded
  /// A key given in the path, "{base}/key/{KEY}/sessions/...", for clients
  /// that cannot send headers; taken out of `path`, so that no route, log
  /// line or error message ever holds it. Empty when there is none.
  std::string path_key;
};

/// Splits "/path?a=1&b=2" into path and decoded query parameters. The forms
/// clients put before a route come off the path: n8n's "/motorhead" and a
/// key ("/key/{KEY}"), each at most once, in either order.
outcome<request_target> parse_target(std::string_view target);

route_match match_route(const std::string& path);

/// The route a raw request target matches; not_found when it does not parse.
route_kind route_of_target(std::string_view target);

/// The route's path template ("/sessions/{id}/memory"; "unmatched" for
/// not_found), the label metrics and logs use instead of the path, which
/// may carry anything a client put in it.
std::string_view route_template(route_kind kind);

/// The methods a route answers, as an Allow header lists them.
std::string allowed_methods(route_kind kind);
bool is_method_allowed(route_kind kind, std::string_view method);

/// Health routes, the OpenAPI document and the admin page's files answer
/// without an API key (the page asks for one, and sends it with its calls).
bool is_public(route_kind kind);

/// Whether a request with this method carries a body that must be JSON
/// (POST, PATCH, PUT).
bool takes_a_body(std::string_view method);

/// Whether a Content-Type header value names JSON: application/json or a
/// +json type (application/merge-patch+json), in any case, with any
/// parameters. A page may send text/plain, a form or an untyped body to
/// any site without asking first (a "simple" CORS request); JSON it may
/// not.
bool is_json_media_type(std::string_view content_type);

/// page and size (1..100, defaults 1 and 10) and namespace of GET /sessions.
outcome<session_page> parse_session_page(const request_target& target);

/// The optional namespace parameter; an invalid one is an error.
outcome<std::optional<std::string>>
parse_namespace(const request_target& target);

/// A valid namespace in a path, or the reason it is not.
std::string namespace_error(const std::string& ns);

/// A valid session id, or the reason it is not.
std::string session_id_error(const std::string& id);

} // namespace motorhead::http
