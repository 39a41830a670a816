// Reading JSON for the codec: the parse under the codec's limits (no NUL
// byte, only UTF-8, bounded nesting) and the members of parsed values.
// Private to the codec (core/json_*.cpp): its users include json_codec.hpp.
#pragma once

#include <string>
#include <string_view>

#include "core/json_codec.hpp"
#include "core/memory_types.hpp"
#include "core/rapidjson.hpp"

namespace motorhead::json {

/// Parses `text` into `doc`; returns an empty string or the parse error.
std::string parse(std::string_view text, rapidjson::Document& doc);

/// The text of string `value`.
std::string as_string(const rapidjson::Value& value);

/// Member `name` of `object` (null when it has none), or an error when the
/// name appears twice: JSON parsers disagree on which of the two counts.
decoded<const rapidjson::Value*> member(const rapidjson::Value& object,
                                        const char* name);

/// Reads member `name` of `object` as a string; null counts as missing.
decoded<std::string> string_member(const rapidjson::Value& object,
                                   const char* name, std::string_view where);

/// The "role" and "content" strings of object `value`, named `where` in an
/// error: a message of a request body or a stored one.
decoded<chat_message> decode_role_and_content(const rapidjson::Value& value,
                                              const std::string& where);

/// Member `name` of `value` when `value` is an object that has it, else
/// null: for provider answers, whose shape is checked, never assumed.
const rapidjson::Value* field(const rapidjson::Value& value, const char* name);

} // namespace motorhead::json
