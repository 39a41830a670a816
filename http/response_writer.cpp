#include "http/response_writer.hpp"

#include <ostream> // Boost 1.74's beast/core/string.hpp uses it undeclared

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>

namespace motorhead::http {

namespace {

void append_field(std::string& out, std::string_view name,
                  std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

bool has_body(unsigned status) {
  return status >= 200 && status != 204 && status != 304;
}

bool names_content_type(const api_response& answer) {
  for (const auto& [name, value] : answer.headers)
    if (boost::beast::iequals(name, "Content-Type"))
      return true;
  return false;
}

} // namespace

void write_response(std::string& out, const api_response& answer,
                    const response_framing& framing) {
  auto reason = boost::beast::http::obsolete_reason(
    static_cast<boost::beast::http::status>(answer.status));
  out.clear();
  out.append(framing.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ")
    .append(std::to_string(answer.status))
    .append(" ")
    .append(reason.data(), reason.size())
    .append("\r\n");
  append_field(out, "Server", "motorhead");
  if (!names_content_type(answer))
    append_field(out, "Content-Type", "application/json");
  for (const auto& [name, value] : answer.headers)
    append_field(out, name, value);
  append_field(out, "X-Request-Id", framing.request_id);
  if (has_body(answer.status))
    append_field(out, "Content-Length", std::to_string(answer.body.size()));
  if (framing.version == 10 && framing.keep_alive)
    append_field(out, "Connection", "keep-alive");
  else if (framing.version != 10 && !framing.keep_alive)
    append_field(out, "Connection", "close");
  out.append("\r\n");
  if (has_body(answer.status))
    out.append(answer.body);
}

} // namespace motorhead::http
