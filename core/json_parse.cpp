// Reading JSON for the codec: the parse under the codec's limits (no NUL
// byte, only UTF-8, bounded nesting) and the members of parsed values.
#include "core/json_parse.hpp"

#include <cstddef>
#include <utility>
#include <vector>

#include "core/utf8.hpp"

namespace motorhead::json {

namespace {

/// Whether every string of `root`, member names included, is well-formed
/// UTF-8. RapidJSON 1.1.0 decodes an escaped low surrogate with no high one
/// before it ("\udc00") into three bytes that are no character. Iterative,
/// as the parse is, so that no nesting depth overflows the stack.
bool has_only_valid_strings(const rapidjson::Value& root) {
  auto is_valid = [](const rapidjson::Value& text) {
    return is_valid_utf8({text.GetString(), text.GetStringLength()});
  };
  std::vector<const rapidjson::Value*> pending{&root};
  while (!pending.empty()) {
    const auto& value = *pending.back();
    pending.pop_back();
    if (value.IsString() && !is_valid(value))
      return false;
    if (value.IsArray())
      for (const auto& item : value.GetArray())
        pending.push_back(&item);
    if (value.IsObject())
      for (const auto& m : value.GetObject()) {
        if (!is_valid(m.name))
          return false;
        pending.push_back(&m.value);
      }
  }
  return true;
}

/// How many arrays and objects deep JSON may nest. The parse is iterative,
/// but writing a value back (compact metadata, the merge of a patch)
/// recurses once per level.
constexpr std::size_t max_nesting = 128;

/// Whether `value` nests more than `levels` arrays and objects deep. It
/// recurses at most max_nesting + 1 calls deep, whatever the value, and
/// allocates nothing: cheaper than counting the brackets of the text,
/// which cost a POST's body more than its few values do.
bool nests_deeper_than(const rapidjson::Value& value, std::size_t levels) {
  if (!value.IsArray() && !value.IsObject())
    return false;
  if (levels == 0)
    return true;
  if (value.IsArray())
    for (const auto& item : value.GetArray())
      if (nests_deeper_than(item, levels - 1))
        return true;
  if (value.IsObject())
    for (const auto& m : value.GetObject())
      if (nests_deeper_than(m.value, levels - 1))
        return true;
  return false;
}

} // namespace

std::string parse(std::string_view text, rapidjson::Document& doc) {
  // RapidJSON takes a NUL byte for the end of the input and would ignore
  // what follows it; no valid JSON text holds a raw NUL.
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    return "malformed JSON at offset " + std::to_string(nul)
           + ": a NUL byte";
  // Stored text is served back as JSON: bytes that are not UTF-8 would make
  // the session undecodable for every client.
  if (auto bad = invalid_utf8_offset(text); bad != std::string_view::npos)
    return "the body is not valid UTF-8 (at byte " + std::to_string(bad)
           + ")";
  doc.Parse(text.data(), text.size());
  if (!doc.HasParseError()) {
    if (nests_deeper_than(doc, max_nesting))
      return "the JSON nests deeper than " + std::to_string(max_nesting)
             + " levels";
    // Valid UTF-8 in, valid UTF-8 out, unless an escape made it otherwise.
    if (text.find("\\u") != std::string_view::npos
        && !has_only_valid_strings(doc))
      return "the body holds an escaped lone surrogate (\\udc00 to "
             "\\udfff with no \\ud800 to \\udbff before it)";
    return {};
  }
  return std::string{"malformed JSON at offset "}
         + std::to_string(doc.GetErrorOffset()) + ": "
         + rapidjson::GetParseError_En(doc.GetParseError());
}

std::string as_string(const rapidjson::Value& value) {
  return {value.GetString(), value.GetStringLength()};
}

decoded<const rapidjson::Value*> member(const rapidjson::Value& object,
                                        const char* name) {
  using result = decoded<const rapidjson::Value*>;
  const rapidjson::Value* found = nullptr;
  std::string_view wanted{name};
  for (const auto& m : object.GetObject()) {
    if (std::string_view{m.name.GetString(), m.name.GetStringLength()} != wanted)
      continue;
    if (found != nullptr)
      return result::failure(std::string{"duplicate key \""} + name + "\"");
    found = &m.value;
  }
  return {found, {}};
}

decoded<std::string> string_member(const rapidjson::Value& object,
                                   const char* name, std::string_view where) {
  auto value = member(object, name);
  if (!value)
    return decoded<std::string>::failure(value.error);
  if (*value.value == nullptr || (*value.value)->IsNull())
    return decoded<std::string>::failure(std::string{where} + " needs a \""
                                         + name + "\" string");
  if (!(*value.value)->IsString())
    return decoded<std::string>::failure(std::string{where} + " field \""
                                         + name + "\" must be a string");
  return {as_string(**value.value), {}};
}

decoded<chat_message> decode_role_and_content(const rapidjson::Value& value,
                                              const std::string& where) {
  if (!value.IsObject())
    return decoded<chat_message>::failure(where + " must be an object");
  auto role = string_member(value, "role", where);
  if (!role)
    return decoded<chat_message>::failure(role.error);
  auto content = string_member(value, "content", where);
  if (!content)
    return decoded<chat_message>::failure(content.error);
  return {chat_message{std::move(*role.value), std::move(*content.value), {}},
          {}};
}

const rapidjson::Value* field(const rapidjson::Value& value, const char* name) {
  if (!value.IsObject())
    return nullptr;
  auto it = value.FindMember(name);
  return it == value.MemberEnd() ? nullptr : &it->value;
}

} // namespace motorhead::json
