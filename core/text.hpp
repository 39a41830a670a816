// Small text helpers shared by the configuration and the HTTP layer.
#pragma once

#include <string_view>

namespace motorhead {

/// `text` without leading and trailing spaces and tabs.
inline std::string_view trim(std::string_view text) {
  constexpr std::string_view blanks = " \t";
  auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos)
    return {};
  auto last = text.find_last_not_of(blanks);
  return text.substr(first, last - first + 1);
}

} // namespace motorhead
