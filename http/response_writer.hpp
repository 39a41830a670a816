// An answer's bytes on the wire, head and body in one buffer: one send per
// response, and no allocation per header field as a Beast message makes.
#pragma once

#include <string>
#include <string_view>

#include "http/api_message.hpp"

namespace motorhead::http {

/// How the connection goes on after the answer.
struct response_framing {
  unsigned version = 11;   // of the request: 10 or 11
  bool keep_alive = true;  // the connection stays open after this answer
  std::string_view request_id;
};

/// Replaces `out` with the HTTP/1.x response for `answer`: the status line,
/// `Server`, `Content-Type` (JSON unless the answer names one), the
/// answer's headers, `X-Request-Id`, `Content-Length` (not for 1xx, 204 and
/// 304, which have no body), `Connection` where the version's default
/// differs from `keep_alive`, then the body. `out` keeps its capacity, so a
/// connection reuses one buffer for all its answers.
void write_response(std::string& out, const api_response& answer,
                    const response_framing& framing);

} // namespace motorhead::http
