// Fuzzes the decoders of JSON the server reads from elsewhere: provider
// answers (chat completions, embeddings) and the records kept in Redis.
// A decoded stored message must encode back to the same record.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/json_codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace motorhead;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  if (auto chat = json::decode_chat_response(text))
    fuzz::check_utf8(chat.value->content, "a completion is UTF-8");
  for (std::size_t expected : {1, 3})
    if (auto embedding = json::decode_embedding_response(text, expected))
      fuzz::check(embedding.value->vectors.size() == expected,
                  "as many vectors as inputs");
  json::provider_error_text(text);
  if (auto stored = json::decode_stored_message(text)) {
    auto again = json::decode_stored_message(
      json::encode_stored_message(*stored.value));
    fuzz::check(again && again.value->seq == stored.value->seq
                  && again.value->role == stored.value->role
                  && again.value->content == stored.value->content,
                "a stored message survives encoding");
  }
  if (auto list = json::decode_string_list(text))
    for (const auto& item : *list.value)
      fuzz::check_utf8(item, "a stored list item is UTF-8");
  return 0;
}
