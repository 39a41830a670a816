// CORS for browser apps (MOTORHEAD_CORS_ORIGINS): which origins may call the
// API, the headers that tell the browser so, and preflight answers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/api_message.hpp"
#include "http/routes.hpp"

namespace motorhead::http {

class cors_policy {
public:
  /// `origins` as configured: exact origins ("https://app.example"), or
  /// "*" for any. Empty: CORS is off and no answer carries its headers.
  explicit cors_policy(std::vector<std::string> origins);

  bool is_on() const { return !origins_.empty() || any_origin_; }
  bool allows(std::string_view origin) const;

  /// Access-Control-Allow-Origin (with Vary: Origin) and the headers a
  /// page may read, for an allowed `origin`.
  std::vector<std::pair<std::string, std::string>>
  headers_for(std::string_view origin) const;

  /// The answer to a preflight OPTIONS for `route`: 204 with the route's
  /// methods and the request headers clients send, or 403 for an origin
  /// not allowed. No key needed: browsers send none on a preflight.
  api_response preflight(route_kind route, std::string_view origin) const;

private:
  std::vector<std::string> origins_;
  bool any_origin_ = false;
};

} // namespace motorhead::http
