// Fuzzes the JSON decoders of request bodies: POST .../memory, POST
// .../retrieval and PATCH /sessions/{id} (and the merge of its patch), on
// the same input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/json_codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace motorhead;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view body{reinterpret_cast<const char*>(data), size};
  if (auto append = json::decode_append_request(body)) {
    for (const auto& msg : append.value->messages) {
      fuzz::check_utf8(msg.role, "a decoded role is UTF-8");
      fuzz::check_utf8(msg.content, "a decoded content is UTF-8");
    }
    if (append.value->context)
      fuzz::check_utf8(*append.value->context, "a decoded context is UTF-8");
  } else {
    fuzz::check(!append.error.empty(), "a refused body has a reason");
  }
  if (auto query = json::decode_retrieval_query(body)) {
    fuzz::check_utf8(query.value->text, "a decoded query is UTF-8");
    fuzz::check(query.value->top_k >= 1 && query.value->top_k <= 100,
                "top_k stays within 1..100");
  } else {
    fuzz::check(!query.error.empty(), "a refused body has a reason");
  }
  if (auto patch = json::decode_session_patch(body)) {
    // The patch merged into metadata that holds some of its own.
    auto merged = json::merge_metadata(R"({"a":{"b":1},"c":[2]})",
                                       patch.value->metadata);
    fuzz::check(bool(merged), "a decoded patch always merges");
    if (!merged.value->empty())
      fuzz::check(bool(json::decode_session_patch(
                    R"({"metadata":)" + *merged.value + "}")),
                  "merged metadata is an object a patch may carry");
  } else {
    fuzz::check(!patch.error.empty(), "a refused body has a reason");
  }
  return 0;
}
