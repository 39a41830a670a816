#include "core/session_id.hpp"

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

} // namespace motorhead
