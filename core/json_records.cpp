// The records the codec keeps in Redis: stored messages (times as ms since
// the epoch) and lists of strings, such as a session's namespaces.
#include "core/json_codec.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_parse.hpp"
#include "core/json_writer.hpp"
#include "core/rapidjson.hpp"

namespace motorhead::json {

std::string encode_stored_message(const stored_message& msg) {
  return write_json([&](json_writer& out) {
    out.StartObject();
    // First: the fold script reads it from the record's start.
    out.Key("seq");
    out.Uint64(msg.seq);
    out.Key("role");
    write_string(out, msg.role);
    out.Key("content");
    write_string(out, msg.content);
    write_details(out, msg.details, [&](int64_t time) { out.Int64(time); });
    out.EndObject();
  });
}

namespace {

/// The details as encode_stored_message writes them.
std::string decode_stored_details(const rapidjson::Value& doc,
                                  message_details& details) {
  const auto* id = field(doc, "id");
  const auto* created_at = field(doc, "created_at");
  const auto* metadata = field(doc, "metadata");
  const auto* token_count = field(doc, "token_count");
  if ((id && !id->IsString()) || (created_at && !created_at->IsInt64())
      || (metadata && !metadata->IsObject())
      || (token_count && !token_count->IsUint()))
    return "a stored message has a malformed id, created_at, metadata or "
           "token_count";
  if (id)
    details.id = as_string(*id);
  if (created_at)
    details.created_at = created_at->GetInt64();
  if (metadata)
    details.metadata = compact(*metadata);
  if (token_count)
    details.token_count = token_count->GetUint();
  return {};
}

} // namespace

decoded<stored_message> decode_stored_message(std::string_view text) {
  using result = decoded<stored_message>;
  rapidjson::Document doc;
  if (auto err = parse(text, doc); !err.empty())
    return result::failure(err);
  if (!doc.IsObject())
    return result::failure("a stored message must be a JSON object");
  const auto* seq = field(doc, "seq");
  if (seq == nullptr || !seq->IsUint64())
    return result::failure("a stored message needs an unsigned \"seq\"");
  auto msg = decode_role_and_content(doc, "a stored message");
  if (!msg)
    return result::failure(msg.error);
  stored_message stored{seq->GetUint64(), std::move(msg.value->role),
                        std::move(msg.value->content), {}};
  if (auto err = decode_stored_details(doc, stored.details); !err.empty())
    return result::failure(err);
  return {std::move(stored), {}};
}

std::string encode_string_list(const std::vector<std::string>& items) {
  return write_json(
    [&](json_writer& out) { write_string_array(out, items); });
}

decoded<std::vector<std::string>> decode_string_list(std::string_view text) {
  using result = decoded<std::vector<std::string>>;
  rapidjson::Document doc;
  if (auto err = parse(text, doc); !err.empty())
    return result::failure(err);
  if (!doc.IsArray())
    return result::failure("expected a JSON array of strings");
  std::vector<std::string> items;
  for (const auto& item : doc.GetArray()) {
    if (!item.IsString())
      return result::failure("expected a JSON array of strings");
    items.push_back(as_string(item));
  }
  return {std::move(items), {}};
}

} // namespace motorhead::json
