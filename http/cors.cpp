#include "http/cors.hpp"

#include <algorithm>

namespace motorhead::http {

namespace {

/// What a page's requests may carry besides the CORS-safe headers.
constexpr const char* allowed_request_headers
  = "Content-Type, Authorization, x-metal-api-key, x-metal-client-id, "
    "X-Request-Id";
/// How long a browser may keep a preflight's answer, in seconds.
constexpr const char* preflight_max_age = "600";

} // namespace

cors_policy::cors_policy(std::vector<std::string> origins) {
  for (auto& origin : origins) {
    if (origin == "*")
      any_origin_ = true;
    else
      origins_.push_back(std::move(origin));
  }
}

bool cors_policy::allows(std::string_view origin) const {
  if (origin.empty())
    return false;
  return any_origin_
         || std::find(origins_.begin(), origins_.end(), origin)
              != origins_.end();
}

std::vector<std::pair<std::string, std::string>>
cors_policy::headers_for(std::string_view origin) const {
  std::vector<std::pair<std::string, std::string>> headers{
    {"Access-Control-Allow-Origin", any_origin_ ? "*" : std::string{origin}},
    {"Access-Control-Expose-Headers",
     "X-Request-Id, Retry-After, WWW-Authenticate"}};
  if (!any_origin_)
    headers.emplace_back("Vary", "Origin");
  return headers;
}

api_response cors_policy::preflight(route_kind route,
                                    std::string_view origin) const {
  if (!allows(origin)) {
    auto refused = error_response(403, "this origin may not call the API "
                                       "(MOTORHEAD_CORS_ORIGINS)");
    refused.error = "CORS origin not allowed";
    return refused;
  }
  api_response answer{204, {}, headers_for(origin), {}};
  auto methods = route == route_kind::not_found ? std::string{"GET, POST, DELETE"}
                                                : allowed_methods(route);
  answer.headers.emplace_back("Access-Control-Allow-Methods", methods);
  answer.headers.emplace_back("Access-Control-Allow-Headers",
                              allowed_request_headers);
  answer.headers.emplace_back("Access-Control-Max-Age", preflight_max_age);
  return answer;
}

} // namespace motorhead::http
