#include "http/auth.hpp"

#include <cctype>

#include "core/text.hpp"

namespace motorhead::http {

namespace {

/// Looks at every byte, so the time taken depends on the lengths only, not
/// on how long a prefix of a key a guess got right.
bool equals_in_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
}

} // namespace

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer";
  auto value = trim(authorization);
  if (value.size() <= scheme.size()
      || (value[scheme.size()] != ' ' && value[scheme.size()] != '\t'))
    return {};
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(value[i])) != scheme[i])
      return {};
  return trim(value.substr(scheme.size()));
}

const api_key* find_key(std::string_view key, const std::vector<api_key>& keys) {
  const api_key* found = nullptr;
  for (const auto& candidate : keys)
    if (equals_in_constant_time(key, candidate.secret))
      found = &candidate;
  return found;
}

} // namespace motorhead::http
