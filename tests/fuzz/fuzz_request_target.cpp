// Fuzzes the request target: percent-decoding of the path and the query,
// route matching and the query parameters' validation.
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/routes.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace motorhead;
using namespace motorhead::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto target = parse_target(text);
  if (!target) {
    fuzz::check(!target.error.empty(), "a refused target has a reason");
    fuzz::check(route_of_target(text) == route_kind::not_found,
                "an unreadable target matches no route");
    return 0;
  }
  fuzz::check_utf8(target.value->path, "the decoded path is UTF-8");
  for (const auto& [key, value] : target.value->query) {
    fuzz::check_utf8(key, "a decoded query key is UTF-8");
    fuzz::check_utf8(value, "a decoded query value is UTF-8");
  }
  auto route = match_route(target.value->path);
  fuzz::check(route.kind == route_of_target(text), "one route per target");
  fuzz::check(!route_template(route.kind).empty(), "every route has a label");
  if (route.kind == route_kind::memory || route.kind == route_kind::retrieval)
    if (session_id_error(route.session_id).empty())
      fuzz::check(route.session_id.find('/') == std::string::npos,
                  "a valid session id has no slash");
  if (auto page = parse_session_page(*target.value))
    fuzz::check(page.value->page >= 1 && page.value->page <= 100
                  && page.value->size >= 1 && page.value->size <= 100,
                "page and size stay within 1..100");
  return 0;
}
