#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/memory_types.hpp"

namespace motorhead {

/// The longest session id or namespace accepted.
constexpr std::size_t max_identifier_length = 256;

/// Session ids and namespaces become part of Redis keys and of hash tags:
/// they are 1..256 characters of [A-Za-z0-9._:@-], so no brace can break a
/// `{hash tag}` and no control character reaches a log line.
bool is_valid_identifier(std::string_view text);

/// A cursor of GET /sessions: "<activity time in ms>:<session id>". Clients
/// take it as opaque text.
std::string cursor_text(const list_position& position);
/// The position a cursor names; nullopt for text no cursor has.
std::optional<list_position> parse_cursor(std::string_view text);

} // namespace motorhead
