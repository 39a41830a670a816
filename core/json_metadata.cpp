// Session metadata: its members as retrieval filters compare them, and the
// merge of a PATCH into it (JSON merge patch, RFC 7396).
#include "core/json_codec.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_parse.hpp"
#include "core/json_writer.hpp"
#include "core/rapidjson.hpp"

namespace motorhead::json {

std::vector<std::pair<std::string, std::string>>
metadata_members(std::string_view object_text) {
  std::vector<std::pair<std::string, std::string>> members;
  if (object_text.empty())
    return members;
  rapidjson::Document doc;
  if (!parse(object_text, doc).empty() || !doc.IsObject())
    return members;
  for (const auto& m : doc.GetObject())
    members.emplace_back(as_string(m.name), compact(m.value));
  return members;
}

namespace {

/// RFC 7396, section 2, on RapidJSON values. Recursion is bounded by the
/// nesting of the patch, which parse bounds.
void merge_patch(rapidjson::Value& target, const rapidjson::Value& patch,
                 rapidjson::Document::AllocatorType& allocator) {
  if (!patch.IsObject()) {
    target.CopyFrom(patch, allocator);
    return;
  }
  if (!target.IsObject())
    target.SetObject();
  for (const auto& m : patch.GetObject()) {
    auto found = target.FindMember(m.name);
    if (m.value.IsNull()) {
      if (found != target.MemberEnd())
        target.EraseMember(found);
      continue;
    }
    if (found != target.MemberEnd()) {
      merge_patch(found->value, m.value, allocator);
      continue;
    }
    rapidjson::Value name{m.name, allocator};
    rapidjson::Value value;
    merge_patch(value, m.value, allocator);
    target.AddMember(name, value, allocator);
  }
}

} // namespace

decoded<std::string> merge_metadata(std::string_view current,
                                    std::string_view patch) {
  using result = decoded<std::string>;
  rapidjson::Document target;
  if (!current.empty())
    if (auto err = parse(current, target); !err.empty())
      return result::failure("the stored metadata is corrupt: " + err);
  rapidjson::Document changes;
  if (auto err = parse(patch, changes); !err.empty())
    return result::failure(err);
  merge_patch(target, changes, target.GetAllocator());
  if (target.IsNull())
    return {std::string{}, {}};
  return {compact(target), {}};
}

} // namespace motorhead::json
