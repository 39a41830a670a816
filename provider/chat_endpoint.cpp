#include "provider/chat_endpoint.hpp"

namespace motorhead {

namespace {

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url;
}

bool azure_configured(const settings& cfg) {
  return !cfg.azure_api_key.empty() && !cfg.azure_api_base.empty()
         && !cfg.azure_deployment_id.empty()
         && !cfg.azure_deployment_id_ada.empty();
}

} // namespace

std::optional<chat_endpoint> chat_endpoint_from(const settings& cfg) {
  const std::string json_header = "Content-Type: application/json";
  if (azure_configured(cfg)) {
    auto url = without_trailing_slash(cfg.azure_api_base) + "/openai/deployments/"
               + cfg.azure_deployment_id
               + "/chat/completions?api-version=" + cfg.azure_api_version;
    return chat_endpoint{"Azure OpenAI deployment " + cfg.azure_deployment_id,
                         url,
                         {json_header, "api-key: " + cfg.azure_api_key},
                         cfg.model};
  }
  if (cfg.openai_api_key.empty() && cfg.openai_api_base.empty())
    return std::nullopt;
  auto base = cfg.openai_api_base.empty() ? std::string{default_openai_api_base}
                                          : cfg.openai_api_base;
  chat_endpoint endpoint{"OpenAI-compatible API at " + base,
                         without_trailing_slash(base) + "/chat/completions",
                         {json_header},
                         cfg.model};
  if (!cfg.openai_api_key.empty())
    endpoint.headers.push_back("Authorization: Bearer " + cfg.openai_api_key);
  return endpoint;
}

} // namespace motorhead
