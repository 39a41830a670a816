#include "http/request_id.hpp"

#include "core/random_id.hpp"

namespace motorhead::http {

namespace {

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
         || c == ':' || c == '/' || c == '+' || c == '=' || c == '~';
}

} // namespace

bool is_valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128)
    return false;
  for (char c : id)
    if (!is_id_char(c))
      return false;
  return true;
}

std::string make_request_id() {
  return random_hex(32);
}

std::string request_id_for(std::string_view incoming) {
  return is_valid_request_id(incoming) ? std::string{incoming}
                                       : make_request_id();
}

} // namespace motorhead::http
