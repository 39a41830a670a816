// One HTTP call to the model provider, and what came back.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace motorhead {

struct http_call {
  std::string url;
  std::vector<std::string> headers; // "Name: value"
  std::string body;
  std::chrono::milliseconds timeout{60000};
};

struct http_result {
  /// The HTTP status; 0 when no answer came (connection error, timeout).
  long status = 0;
  std::string body;
  /// The Retry-After header, as sent.
  std::string retry_after;
  /// Why no answer came, when status is 0.
  std::string transport_error;

  bool succeeded() const { return status >= 200 && status < 300; }
};

} // namespace motorhead
