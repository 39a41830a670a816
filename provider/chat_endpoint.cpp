#include "provider/chat_endpoint.hpp"

#include "config/option_values.hpp"

namespace motorhead {

namespace {

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url;
}

/// The settings check that Azure is configured in full or not at all: its
/// embedding deployment is needed only for long-term memory.
bool azure_configured(const settings& cfg) {
  return !cfg.azure_api_key.empty() && !cfg.azure_api_base.empty()
         && !cfg.azure_deployment_id.empty();
}

/// The provider's endpoint for `operation` ("chat/completions",
/// "embeddings"); Azure names a deployment per operation.
std::optional<chat_endpoint> endpoint_for(const settings& cfg,
                                          const std::string& operation,
                                          const std::string& azure_deployment,
                                          const std::string& model) {
  const std::string json_header = "Content-Type: application/json";
  if (azure_configured(cfg)) {
    if (azure_deployment.empty())
      return std::nullopt;
    auto url = without_trailing_slash(cfg.azure_api_base) + "/openai/deployments/"
               + azure_deployment + "/" + operation
               + "?api-version=" + cfg.azure_api_version;
    return chat_endpoint{"Azure OpenAI deployment " + azure_deployment, url,
                         {json_header, "api-key: " + cfg.azure_api_key}, model};
  }
  if (cfg.openai_api_key.empty() && cfg.openai_api_base.empty())
    return std::nullopt;
  auto base = cfg.openai_api_base.empty() ? std::string{default_openai_api_base}
                                          : cfg.openai_api_base;
  chat_endpoint endpoint{"OpenAI-compatible API at " + without_secrets(base),
                         without_trailing_slash(base) + "/" + operation,
                         {json_header},
                         model};
  if (!cfg.openai_api_key.empty())
    endpoint.headers.push_back("Authorization: Bearer " + cfg.openai_api_key);
  return endpoint;
}

} // namespace

std::optional<chat_endpoint> chat_endpoint_from(const settings& cfg) {
  return endpoint_for(cfg, "chat/completions", cfg.azure_deployment_id,
                      cfg.model);
}

std::optional<chat_endpoint> embedding_endpoint_from(const settings& cfg) {
  return endpoint_for(cfg, "embeddings", cfg.azure_deployment_id_ada,
                      cfg.embedding_model);
}

} // namespace motorhead
