// HTTP request bodies: the messages of a POST to a session's memory, a
// retrieval query with its filter, and a PATCH of a session's metadata.
#include "core/json_codec.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/json_parse.hpp"
#include "core/json_writer.hpp"
#include "core/rapidjson.hpp"
#include "core/session_id.hpp"
#include "core/timestamp.hpp"

namespace motorhead::json {

namespace {

/// parse, for a request body, which must be an object.
std::string parse_object(std::string_view body, rapidjson::Document& doc) {
  if (auto err = parse(body, doc); !err.empty())
    return err;
  if (!doc.IsObject())
    return "the body must be a JSON object";
  return {};
}

/// Member `name` of `object` unless it is missing or null.
decoded<const rapidjson::Value*> present_member(const rapidjson::Value& object,
                                                const char* name) {
  auto value = member(object, name);
  if (value && *value.value != nullptr && (*value.value)->IsNull())
    *value.value = nullptr;
  return value;
}

/// An RFC 3339 date-time into ms since the Unix epoch; else why not,
/// naming the field as `what`.
std::string decode_time(const rapidjson::Value& value, const std::string& what,
                        int64_t& ms) {
  auto time = value.IsString() ? parse_rfc3339(as_string(value)) : std::nullopt;
  if (!time)
    return what + " must be an RFC 3339 date-time, such as "
                  "\"2026-12-01T20:14:57Z\"";
  ms = *time;
  return {};
}

/// The optional members a client may give a message: "id", "created_at"
/// (RFC 3339) and "metadata" (an object). Anything else is ignored.
std::string decode_client_details(const rapidjson::Value& value,
                                  const std::string& where,
                                  message_details& details) {
  auto id = present_member(value, "id");
  auto created_at = present_member(value, "created_at");
  auto metadata = present_member(value, "metadata");
  for (const auto* found : {&id, &created_at, &metadata})
    if (!*found)
      return found->error;
  if (const auto* given = *id.value) {
    if (!given->IsString() || !is_valid_identifier(as_string(*given)))
      return where + " field \"id\" must be a string of 1 to 256 characters "
                     "of [A-Za-z0-9._:@-]";
    details.id = as_string(*given);
  }
  if (const auto* given = *created_at.value)
    if (auto err = decode_time(*given, where + " field \"created_at\"",
                               details.created_at);
        !err.empty())
      return err;
  if (const auto* given = *metadata.value) {
    if (!given->IsObject())
      return where + " field \"metadata\" must be an object";
    details.metadata = compact(*given);
  }
  return {};
}

decoded<chat_message> decode_chat_message(const rapidjson::Value& value,
                                          std::size_t index) {
  auto where = "message " + std::to_string(index);
  auto msg = decode_role_and_content(value, where);
  if (!msg)
    return msg;
  if (auto err = decode_client_details(value, where, msg.value->details);
      !err.empty())
    return decoded<chat_message>::failure(err);
  return msg;
}

} // namespace

decoded<append_request> decode_append_request(std::string_view body) {
  using result = decoded<append_request>;
  rapidjson::Document doc;
  if (auto err = parse_object(body, doc); !err.empty())
    return result::failure(err);
  auto messages = member(doc, "messages");
  if (!messages)
    return result::failure(messages.error);
  if (*messages.value == nullptr)
    return result::failure("the body needs a \"messages\" array");
  if (!(*messages.value)->IsArray())
    return result::failure("\"messages\" must be an array");
  append_request request;
  // One POST cannot hold one id twice: message index by id.
  std::unordered_map<std::string, std::size_t> ids;
  std::size_t index = 0;
  for (const auto& item : (*messages.value)->GetArray()) {
    auto msg = decode_chat_message(item, index);
    if (!msg)
      return result::failure(msg.error);
    const auto& id = msg.value->details.id;
    if (!id.empty())
      if (auto [first, added] = ids.emplace(id, index); !added)
        return result::failure("message " + std::to_string(index)
                               + " repeats the id of message "
                               + std::to_string(first->second));
    request.messages.push_back(std::move(*msg.value));
    ++index;
  }
  auto context = present_member(doc, "context");
  if (!context)
    return result::failure(context.error);
  if (*context.value != nullptr) {
    if (!(*context.value)->IsString())
      return result::failure("\"context\" must be a string or null");
    request.context = as_string(**context.value);
  }
  return {std::move(request), {}};
}

namespace {

/// "role": a string, or an array of strings (any of them).
std::string decode_roles(const rapidjson::Value& value,
                         std::vector<std::string>& roles) {
  const char* error = "filter field \"role\" must be a string or an array "
                      "of strings";
  if (value.IsString()) {
    roles.push_back(as_string(value));
    return {};
  }
  if (!value.IsArray() || value.Empty())
    return error;
  for (const auto& role : value.GetArray()) {
    if (!role.IsString())
      return error;
    roles.push_back(as_string(role));
  }
  return {};
}

/// A retrieval's "filter" object; an unknown member is an error, so that a
/// misspelt filter does not silently select everything.
std::string decode_filter(const rapidjson::Value& value,
                          retrieval_filter& filter) {
  if (!value.IsObject())
    return "\"filter\" must be an object";
  for (const auto& m : value.GetObject()) {
    auto name = as_string(m.name);
    std::string err;
    if (name == "role") {
      err = decode_roles(m.value, filter.roles);
    } else if (name == "metadata") {
      if (!m.value.IsObject())
        return "filter field \"metadata\" must be an object";
      for (const auto& wanted : m.value.GetObject())
        filter.metadata.emplace_back(as_string(wanted.name),
                                     compact(wanted.value));
    } else if (name == "created_after") {
      err = decode_time(m.value, "filter field \"created_after\"",
                        filter.created_after);
    } else if (name == "created_before") {
      err = decode_time(m.value, "filter field \"created_before\"",
                        filter.created_before);
    } else {
      err = "unknown filter field \"" + name
            + "\" (there are role, metadata, created_after and "
              "created_before)";
    }
    if (!err.empty())
      return err;
  }
  return {};
}

} // namespace

decoded<retrieval_query> decode_retrieval_query(std::string_view body) {
  using result = decoded<retrieval_query>;
  rapidjson::Document doc;
  if (auto err = parse_object(body, doc); !err.empty())
    return result::failure(err);
  auto text = string_member(doc, "text", "the body");
  if (!text)
    return result::failure(text.error);
  if (text.value->empty())
    return result::failure("\"text\" must not be empty");
  retrieval_query query;
  query.text = std::move(*text.value);
  auto filter = present_member(doc, "filter");
  if (!filter)
    return result::failure(filter.error);
  if (*filter.value != nullptr)
    if (auto err = decode_filter(**filter.value, query.filter); !err.empty())
      return result::failure(err);
  auto top_k = present_member(doc, "top_k");
  if (!top_k)
    return result::failure(top_k.error);
  if (const auto* value = *top_k.value) {
    if (!value->IsUint() || value->GetUint() < 1 || value->GetUint() > 100)
      return result::failure("\"top_k\" must be a whole number from 1 to 100");
    query.top_k = value->GetUint();
  }
  return {std::move(query), {}};
}

decoded<session_patch> decode_session_patch(std::string_view body) {
  using result = decoded<session_patch>;
  rapidjson::Document doc;
  if (auto err = parse_object(body, doc); !err.empty())
    return result::failure(err);
  for (const auto& m : doc.GetObject())
    if (as_string(m.name) != "metadata")
      return result::failure("\"" + as_string(m.name)
                             + "\" cannot be changed: a PATCH sets "
                               "\"metadata\" only");
  auto metadata = member(doc, "metadata");
  if (!metadata)
    return result::failure(metadata.error);
  session_patch patch{true, "{}", std::nullopt};
  if (const auto* given = *metadata.value) {
    if (!given->IsObject() && !given->IsNull())
      return result::failure("\"metadata\" must be an object or null");
    patch.metadata = compact(*given);
  }
  return {std::move(patch), {}};
}

} // namespace motorhead::json
