#pragma once

#include <string_view>

namespace motorhead {

/// The longest session id or namespace accepted.
constexpr std::size_t max_identifier_length = 256;

/// Session ids and namespaces become part of Redis keys and of hash tags:
/// they are 1..256 characters of [A-Za-z0-9._:@-], so no brace can break a
/// `{hash tag}` and no control character reaches a log line.
bool is_valid_identifier(std::string_view text);

} // namespace motorhead
