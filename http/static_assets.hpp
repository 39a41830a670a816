// Files the server serves as they are: the OpenAPI document and the admin
// page. scripts/embed-assets compiles them into the binary at build time.
#pragma once

#include <cstddef>
#include <string_view>

namespace motorhead::http {

struct static_asset {
  std::string_view path; // "/openapi.json", "/ui/app.js"
  std::string_view content_type;
  std::string_view body;
};

extern const static_asset embedded_assets[];
extern const std::size_t embedded_asset_count;

/// The asset served at `path` ("/ui" and "/ui/" are the page itself), or
/// null.
const static_asset* find_static_asset(std::string_view path);

} // namespace motorhead::http
