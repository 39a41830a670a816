// The error answers of the API: an error body for a status, and the status
// and the text for each error the actors answer with.
#include "http/api_handler.hpp"

#include <string>
#include <string_view>

#include <caf/all.hpp>

#include "actors/protocol.hpp"
#include "core/json_codec.hpp"
#include "http/api_message.hpp"

namespace motorhead::http {

namespace {

std::string error_text(const caf::error& err) {
  auto text = error_message(err);
  return text.empty() ? "unknown error" : text;
}

/// Redis' own error replies come as they are; the unreachable ones say so.
std::string storage_error_text(const caf::error& err) {
  auto text = error_text(err);
  return text.rfind("Redis", 0) == 0 ? text : "Redis failed: " + text;
}

} // namespace

api_response error_response(unsigned status, std::string_view message) {
  api_response answer{status, json::encode_error(message), {},
                      std::string{message}};
  // Every 503 says when to try again: most pass (Redis back, a session
  // moved, room freed).
  if (status == 503)
    answer.headers.emplace_back("Retry-After", "1");
  return answer;
}

api_response error_response(const caf::error& err) {
  if (err.category() == service_error_category()) {
    switch (static_cast<service_errc>(err.code())) {
      case service_errc::storage_unavailable:
        return error_response(503, storage_error_text(err));
      case service_errc::overloaded:
        return error_response(503, "the server is overloaded: "
                                     + error_text(err));
      case service_errc::write_unknown:
        return error_response(503, "storage did not confirm the write in "
                                   "time; it may have been stored: send it "
                                   "again with the same message ids (a retry "
                                   "stores nothing twice, and is answered "
                                   "once the write is confirmed)");
      case service_errc::forbidden:
        return error_response(403, error_text(err));
      case service_errc::id_conflict:
        return error_response(409, error_text(err));
      case service_errc::not_found:
        return error_response(404, error_text(err));
      case service_errc::invalid_request:
        return error_response(400, error_text(err));
      case service_errc::not_member:
        return error_response(503, "this node is not a member of the "
                                   "cluster: " + error_text(err));
      case service_errc::owner_unreachable:
        return error_response(503, "the node that owns this session cannot "
                                   "be reached: " + error_text(err)
                                   + "; retry the request");
      case service_errc::fenced:
      case service_errc::leaving:
      case service_errc::moved:
        return error_response(503, "the session moved to another node; "
                                   "retry the request");
      default:
        return error_response(500, "internal error: " + error_text(err));
    }
  }
  // The bridge gives up on the answer, not on the work: a write may still
  // complete after this answer.
  if (err == caf::sec::request_timeout)
    return error_response(504, "the request timed out; a write may still "
                               "complete: read the session before sending "
                               "it again, unless its messages carry ids (a "
                               "POST that repeats them stores nothing "
                               "twice)");
  if (err == caf::sec::request_receiver_down)
    return error_response(503, "the session stopped while handling the "
                               "request; retry it");
  return error_response(500, "internal error: " + caf::to_string(err));
}

} // namespace motorhead::http
