// The request log: one line per answered request, at a level that depends
// on who failed. A client's error (4xx) is routine on a public port, so it
// goes at MOTORHEAD_LOG_CLIENT_ERRORS (info or debug); a server's error
// (5xx) is logged once per burst of the same error, the rest at debug.
#pragma once

#include "core/log.hpp"
#include "http/api_message.hpp"
#include "http/routes.hpp"

namespace motorhead::http {

/// What the metrics and the log need of the request being answered.
struct request_record {
  std::string method;
  route_kind route = route_kind::not_found;
  std::string id;
  std::chrono::steady_clock::time_point started;
};

class request_log {
public:
  explicit request_log(log_level client_errors = log_level::info)
    : client_errors_(client_errors) {}

  void record(const request_record& request, const api_response& answer,
              double seconds);

private:
  log_level client_errors_;
  burst_filter server_errors_;
};

} // namespace motorhead::http
