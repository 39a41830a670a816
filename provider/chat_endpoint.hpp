// Where summaries are requested: OpenAI, any OpenAI-compatible server, or an
// Azure OpenAI deployment, as the settings say.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/settings.hpp"

namespace motorhead {

struct chat_endpoint {
  std::string description; // for the log, without secrets
  std::string url;
  std::vector<std::string> headers;
  std::string model;
};

/// Azure when all four AZURE_* variables are set; else OpenAI-compatible when
/// OPENAI_API_KEY or OPENAI_API_BASE is set; else none (built-in summarizer).
std::optional<chat_endpoint> chat_endpoint_from(const settings& cfg);

/// The same provider's embeddings endpoint (Azure: the ada deployment),
/// with MOTORHEAD_EMBEDDING_MODEL.
std::optional<chat_endpoint> embedding_endpoint_from(const settings& cfg);

} // namespace motorhead
