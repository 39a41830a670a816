// The request and the answer that the HTTP server and the API handler
// exchange, free of Beast and of the actors.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace motorhead::http {

struct api_request {
  std::string method;
  std::string target;
  std::string body;
  std::string authorization;
  std::string metal_key; // x-metal-api-key, as the Metal SDK sends it
  std::string origin;    // a browser page's, for CORS
  std::string content_type;
};

struct api_response {
  unsigned status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// What went wrong, for the log: the client's error text, or a
  /// shorter one where that text echoes the request's path.
  std::string error;
};

/// Called exactly once per request, from an I/O thread or an actor thread.
using responder = std::function<void(api_response)>;

/// An error answer: {"error": message}, the message also kept for the log.
api_response error_response(unsigned status, std::string_view message);

/// A 200 answer with the JSON `body`.
inline api_response ok_response(std::string body) {
  return {200, std::move(body), {}, {}};
}

} // namespace motorhead::http
