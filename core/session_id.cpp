#include "core/session_id.hpp"

#include <charconv>

namespace motorhead {

namespace {

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':'
         || c == '@' || c == '-';
}

} // namespace

bool is_valid_identifier(std::string_view text) {
  if (text.empty() || text.size() > max_identifier_length)
    return false;
  for (char c : text)
    if (!is_identifier_char(c))
      return false;
  return true;
}

std::string cursor_text(const list_position& position) {
  return std::to_string(position.time_ms) + ":" + position.id;
}

std::optional<list_position> parse_cursor(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return std::nullopt;
  list_position position;
  auto [end, ec] = std::from_chars(text.data(), text.data() + colon,
                                   position.time_ms);
  if (ec != std::errc{} || end != text.data() + colon)
    return std::nullopt;
  position.id = std::string{text.substr(colon + 1)};
  if (!is_valid_identifier(position.id))
    return std::nullopt;
  return position;
}

} // namespace motorhead
