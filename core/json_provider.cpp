// The wire format of the OpenAI-compatible provider: chat completion and
// embedding requests, their answers, and the error text of a failed call.
#include "core/json_codec.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_parse.hpp"
#include "core/json_writer.hpp"
#include "core/rapidjson.hpp"

namespace motorhead::json {

namespace {

/// usage.total_tokens of a provider's answer; 0 when it reports none.
uint64_t total_tokens_of(const rapidjson::Value& doc) {
  const auto* usage = field(doc, "usage");
  const auto* total = usage ? field(*usage, "total_tokens") : nullptr;
  return total && total->IsUint64() ? total->GetUint64() : 0;
}

} // namespace

std::string encode_chat_request(const std::string& model,
                                const std::string& prompt,
                                uint32_t max_tokens) {
  return write_json([&](json_writer& out) {
    out.StartObject();
    out.Key("model");
    write_string(out, model);
    out.Key("messages");
    out.StartArray();
    out.StartObject();
    out.Key("role");
    out.String("user");
    out.Key("content");
    write_string(out, prompt);
    out.EndObject();
    out.EndArray();
    out.Key("temperature");
    out.Int(0);
    out.Key("max_tokens");
    out.Uint(max_tokens);
    out.EndObject();
  });
}

decoded<chat_completion> decode_chat_response(std::string_view body) {
  using result = decoded<chat_completion>;
  rapidjson::Document doc;
  if (auto err = parse(body, doc); !err.empty())
    return result::failure("provider answered " + err);
  if (!doc.IsObject())
    return result::failure("provider answered something other than an object");
  const auto* choices = field(doc, "choices");
  if (choices == nullptr || !choices->IsArray() || choices->Empty())
    return result::failure("provider answer has no choices");
  const auto* message = field((*choices)[0], "message");
  if (message == nullptr || !message->IsObject())
    return result::failure("provider answer has no message");
  auto content = string_member(*message, "content", "the message");
  if (!content)
    return result::failure("provider answer: " + content.error);
  return {chat_completion{std::move(*content.value), total_tokens_of(doc)}, {}};
}

std::string encode_embedding_request(const std::string& model,
                                     const std::vector<std::string>& texts) {
  return write_json([&](json_writer& out) {
    out.StartObject();
    out.Key("model");
    write_string(out, model);
    out.Key("input");
    write_string_array(out, texts);
    out.EndObject();
  });
}

decoded<embedding_result> decode_embedding_response(std::string_view body,
                                                    std::size_t expected) {
  using result = decoded<embedding_result>;
  rapidjson::Document doc;
  if (auto err = parse(body, doc); !err.empty())
    return result::failure("provider answered " + err);
  const auto* data = field(doc, "data");
  if (data == nullptr || !data->IsArray() || data->Size() != expected)
    return result::failure("provider answer has not " + std::to_string(expected)
                           + " embeddings");
  embedding_result out;
  out.vectors.resize(expected);
  for (const auto& item : data->GetArray()) {
    const auto* index = field(item, "index");
    const auto* values = field(item, "embedding");
    if (index == nullptr || !index->IsUint() || index->GetUint() >= expected
        || values == nullptr || !values->IsArray())
      return result::failure("provider answer has a malformed embedding");
    auto& vector = out.vectors[index->GetUint()];
    for (const auto& v : values->GetArray()) {
      if (!v.IsNumber())
        return result::failure("provider answer has a malformed embedding");
      vector.push_back(static_cast<float>(v.GetDouble()));
    }
  }
  for (const auto& vector : out.vectors)
    if (vector.empty() || vector.size() != out.vectors[0].size())
      return result::failure("provider answer has embeddings of unequal size");
  if (const auto* model = field(doc, "model"); model && model->IsString())
    out.model = as_string(*model);
  out.tokens_used = total_tokens_of(doc);
  return {std::move(out), {}};
}

std::string provider_error_text(std::string_view body) {
  constexpr std::size_t max_length = 300;
  rapidjson::Document doc;
  if (parse(body, doc).empty()) {
    if (const auto* error = field(doc, "error")) {
      if (error->IsString())
        return as_string(*error);
      if (const auto* message = field(*error, "message"); message && message->IsString())
        return as_string(*message);
    }
  }
  return std::string{body.substr(0, max_length)};
}

} // namespace motorhead::json
