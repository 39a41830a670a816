// Request ids: the client's X-Request-Id when it is a sensible one, else a
// fresh random id. Every answer and every request log line carries it.
#pragma once

#include <string>
#include <string_view>

namespace motorhead::http {

/// 1 to 128 characters of letters, digits and - _ . : / + = ~, so that an
/// id is safe in a header, a log line and a JSON string.
bool is_valid_request_id(std::string_view id);

/// 32 random hex digits.
std::string make_request_id();

/// `incoming` when it is valid, else a fresh id.
std::string request_id_for(std::string_view incoming);

} // namespace motorhead::http
