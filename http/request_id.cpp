#include "http/request_id.hpp"

#include <cstdint>
#include <random>

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
  thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string id(32, '0');
  for (std::size_t half = 0; half < 2; ++half) {
    auto bits = random();
    for (std::size_t i = 0; i < 16; ++i, bits >>= 4)
      id[half * 16 + i] = digits[bits & 0xf];
  }
  return id;
}

std::string request_id_for(std::string_view incoming) {
  return is_valid_request_id(incoming) ? std::string{incoming}
                                       : make_request_id();
}

} // namespace motorhead::http
