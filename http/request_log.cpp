#include "http/request_log.hpp"

#include <string>

namespace motorhead::http {

void request_log::record(const request_record& request,
                         const api_response& answer, double seconds) {
  auto level = answer.status >= 400 ? client_errors_ : log_level::debug;
  uint64_t suppressed = 0;
  if (answer.status >= 500) {
    auto verdict = server_errors_.admit(std::to_string(answer.status) + " "
                                        + answer.error);
    suppressed = verdict.suppressed;
    level = !verdict.log              ? log_level::debug
            : answer.status == 500 ? log_level::error
                                   : log_level::warn;
  }
  if (!log_enabled(level))
    return;
  // Route templates only: a path may carry anything a client put in it.
  auto route = text_field("route", std::string{route_template(request.route)});
  auto message = answer.status >= 400 ? answer.error : "request answered";
  auto id = text_field("request_id", request.id);
  auto method = text_field("method", request.method);
  auto status = number_field("status", uint64_t{answer.status});
  auto duration = number_field("duration_ms", seconds * 1000);
  if (suppressed > 0)
    log_record(level, "http", message,
               {id, method, route, status, duration,
                number_field("not_logged_since", suppressed)});
  else
    log_record(level, "http", message, {id, method, route, status, duration});
}

} // namespace motorhead::http
