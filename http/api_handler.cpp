// The API's route table: a request's target, CORS and API key checked, then
// each route served, on the I/O thread or through the bridge actor.
#include "http/api_handler.hpp"

#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "core/build_info.hpp"
#include "core/json_codec.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/process_metrics.hpp"
#include "core/unix_time.hpp"
#include "http/api_bridge.hpp"
#include "http/auth.hpp"
#include "http/http_metrics.hpp"
#include "http/static_assets.hpp"

namespace motorhead::http {

namespace {

/// GET /metrics: the Prometheus text format, version 0.0.4.
api_response metrics_response() {
  metrics::text_writer out;
  global_http_metrics().render(out);
  metrics::global().render(out);
  metrics::render_process_metrics(out);
  metrics::render_build_info(out);
  return {200,
          out.text(),
          {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}},
          {}};
}

/// What the admin page may do in a browser: run and style itself with its
/// own files and call this server, nothing else; no page may frame it.
constexpr const char* admin_page_policy
  = "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

/// A file compiled into the server, cacheable only until it is rebuilt.
api_response asset_response(route_kind route, const std::string& path) {
  const auto* asset = find_static_asset(path);
  if (!asset) {
    auto res = error_response(404, "no such file: " + path);
    res.error = "no such file";
    return res;
  }
  api_response res{200,
                   std::string{asset->body},
                   {{"Content-Type", std::string{asset->content_type}},
                    {"Cache-Control", "no-cache"},
                    {"X-Content-Type-Options", "nosniff"}},
                   {}};
  if (route == route_kind::admin_ui) {
    res.headers.emplace_back("Content-Security-Policy", admin_page_policy);
    res.headers.emplace_back("X-Frame-Options", "DENY");
    res.headers.emplace_back("Referrer-Policy", "no-referrer");
  }
  return res;
}

} // namespace

api_handler::api_handler(caf::actor_system& system, router_actor router,
                         const settings& cfg, boost::asio::io_context& io,
                         std::shared_ptr<const bpe_tokenizer> tokenizer)
  : io_actors_(system, io),
    bridge_(system.spawn<bridge>(cfg.request_timeout)),
    router_(std::move(router)),
    long_term_memory_(cfg.long_term_memory),
    api_keys_(cfg.api_keys),
    max_messages_per_post_(cfg.max_messages_per_post),
    max_message_bytes_(cfg.max_message_bytes),
    max_metadata_bytes_(cfg.max_metadata_bytes),
    query_max_bytes_(cfg.query_max_bytes),
    query_max_terms_(cfg.query_max_terms),
    filter_max_roles_(cfg.filter_max_roles),
    filter_max_metadata_(cfg.filter_max_metadata),
    request_timeout_(cfg.request_timeout),
    data_envelope_(cfg.data_envelope),
    cors_(cfg.cors_origins),
    settings_body_(json::encode_settings(build_version, build_commit,
                                         cfg.shown)),
    io_(io),
    tokenizer_(std::move(tokenizer)) {
}

api_handler::~api_handler() {
  caf::anon_send_exit(bridge_, caf::exit_reason::user_shutdown);
}

void api_handler::io_stopped() {
  io_actors_.hand_over();
}

route_kind api_handler::handle(const api_request& request, responder respond) {
  auto target = parse_target(request.target);
  auto route = target ? match_route(target.value->path) : route_match{};
  if (cors_.is_on() && request.method == "OPTIONS" && !request.origin.empty()) {
    respond(cors_.preflight(route.kind, request.origin));
    return route.kind;
  }
  if (cors_.allows(request.origin))
    respond = [respond = std::move(respond),
               headers = cors_.headers_for(request.origin)](
                api_response response) {
      response.headers.insert(response.headers.end(), headers.begin(),
                              headers.end());
      respond(std::move(response));
    };
  if (!target) {
    respond(error_response(400, target.error));
    return route.kind;
  }
  try {
    route_request(request, *target.value, route, respond);
  } catch (const std::exception& ex) {
    answer_failure(respond, ex);
  }
  return route.kind;
}

void api_handler::answer_failure(const responder& respond,
                                 const std::exception& ex) {
  // One request's failure must not take the I/O thread down with it. The
  // request log says what failed; the client learns only that something
  // did.
  auto answer = error_response(500, "internal error");
  answer.error = std::string{"handling the request failed: "} + ex.what();
  respond(std::move(answer));
}

void api_handler::route_request(const api_request& request,
                                const request_target& target,
                                const route_match& route,
                                const responder& respond) {
  auto scope = authorize(request, target);
  // Before 404 and 405, so that routes cannot be probed without a key.
  if (!is_public(route.kind) && !scope) {
    auto res = error_response(401, "a valid API key is required "
                                   "(Authorization: Bearer <key>, "
                                   "x-metal-api-key: <key>, or /key/<key> "
                                   "before the route)");
    res.headers.emplace_back("WWW-Authenticate", "Bearer");
    return respond(std::move(res));
  }
  if (route.kind == route_kind::not_found) {
    auto res = error_response(404, "no route for " + target.path);
    res.error = "no such route";
    return respond(std::move(res));
  }
  if (!is_method_allowed(route.kind, request.method)) {
    auto res = error_response(405, request.method + " is not allowed on "
                                     + target.path);
    res.error = "method not allowed";
    res.headers.emplace_back("Allow", allowed_methods(route.kind));
    return respond(std::move(res));
  }
  if (takes_a_body(request.method) && !is_json_media_type(request.content_type))
    return respond(error_response(
      415, "the body must be JSON, sent with Content-Type: application/json"));
  serve_route(request, target, route, scope.value_or(access_scope{}), respond);
}

namespace {

/// Why a key scoped to namespaces may not make this request, or "": it
/// reaches sessions of its namespaces only, so a list or a POST must name
/// one of them, and the operators' routes need a key without a scope.
std::string scope_error(route_kind route, std::string_view method,
                        const std::optional<std::string>& ns,
                        const access_scope& scope) {
  if (!scope.restricted)
    return {};
  if (route == route_kind::metrics || route == route_kind::cluster
      || route == route_kind::settings)
    return "this API key is scoped to namespaces; "
           + std::string{route_template(route)} + " needs a key without a scope";
  bool names_one = route == route_kind::sessions
                   || (route == route_kind::memory && method == "POST")
                   || (route == route_kind::session && method == "PATCH");
  if (ns ? !scope.allows(*ns) : names_one)
    return "this API key may reach only the namespaces it is scoped to: "
           "name one of them in the \"namespace\" parameter";
  return {};
}

} // namespace

void api_handler::serve_route(const api_request& request,
                              const request_target& target,
                              const route_match& route,
                              const access_scope& scope,
                              const responder& respond) {
  if (scope.restricted) {
    auto ns = parse_namespace(target);
    if (!ns)
      return respond(error_response(400, ns.error));
    if (auto err = scope_error(route.kind, request.method, *ns.value, scope);
        !err.empty())
      return respond(error_response(403, err));
  }
  switch (route.kind) {
    case route_kind::health:
      return respond(ok_response(json::encode_health(unix_time_ms())));
    case route_kind::healthz:
      return respond(ok_response(json::encode_liveness(build_version)));
    case route_kind::metrics:
      return respond(metrics_response());
    case route_kind::settings:
      return respond(ok_response(settings_body_));
    case route_kind::keys_current:
      return respond(
        ok_response(json::encode_key_status(!api_keys_.empty(), scope,
                                            long_term_memory_)));
    case route_kind::openapi:
    case route_kind::admin_ui:
      return respond(asset_response(route.kind, target.path));
    case route_kind::readyz:
      return ask_router<ok_atom>(
        respond, [](ok_atom) { return ok_response(json::encode_status_ok()); },
        ping_atom::value);
    case route_kind::sessions: {
      auto page = parse_session_page(target);
      if (!page)
        return respond(error_response(400, page.error));
      // A page is the original's plain list of ids; a cursor listing says
      // where the next page starts.
      bool by_cursor = page.value->by_cursor;
      return ask_router<session_listing>(
        respond,
        [by_cursor](const session_listing& listing) {
          return ok_response(by_cursor
                               ? json::encode_session_listing(listing)
                               : json::encode_session_ids(listing.ids));
        },
        list_atom::value, *page.value);
    }
    case route_kind::cluster: {
      auto it = target.query.find("session");
      std::string session = it == target.query.end() ? "" : it->second;
      if (it != target.query.end())
        if (auto err = session_id_error(session); !err.empty())
          return respond(error_response(400, err));
      return ask_router<cluster_view>(
        respond,
        [](const cluster_view& view) {
          return ok_response(json::encode_cluster(view));
        },
        cluster_atom::value, session);
    }
    case route_kind::session:
    case route_kind::memory:
    case route_kind::retrieval: {
      if (auto err = session_id_error(route.session_id); !err.empty())
        return respond(error_response(400, err));
      if (route.kind == route_kind::retrieval)
        return handle_retrieval(request, route, scope, respond);
      if (route.kind == route_kind::session)
        return handle_session(request, route.session_id, target, scope,
                              respond);
      return handle_memory(request, route.session_id, target, scope, respond);
    }
    case route_kind::namespace_root:
    case route_kind::namespace_retrieval:
      if (auto err = namespace_error(route.ns); !err.empty())
        return respond(error_response(400, err));
      if (!scope.allows(route.ns))
        return respond(error_response(
          403, "this API key may not reach namespace " + route.ns));
      if (route.kind == route_kind::namespace_retrieval)
        return handle_retrieval(request, route, scope, respond);
      return ask_router<uint64_t>(
        respond,
        [](uint64_t deleted) {
          return ok_response(json::encode_namespace_deleted(deleted));
        },
        forget_atom::value, route.ns, scope);
    case route_kind::not_found:
      break;
  }
}

std::optional<access_scope>
api_handler::authorize(const api_request& request,
                       const request_target& target) const {
  if (api_keys_.empty())
    return access_scope{};
  for (auto key : {bearer_token(request.authorization),
                   std::string_view{request.metal_key},
                   std::string_view{target.path_key}})
    if (!key.empty())
      if (const auto* known = find_key(key, api_keys_))
        return known->scope;
  return std::nullopt;
}

} // namespace motorhead::http
