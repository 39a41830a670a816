#include "http/static_assets.hpp"

namespace motorhead::http {

const static_asset* find_static_asset(std::string_view path) {
  if (path == "/ui" || path == "/ui/")
    path = "/ui/index.html";
  for (std::size_t i = 0; i < embedded_asset_count; ++i)
    if (embedded_assets[i].path == path)
      return &embedded_assets[i];
  return nullptr;
}

} // namespace motorhead::http
