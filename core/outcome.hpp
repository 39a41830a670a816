#pragma once

#include <optional>
#include <string>

namespace motorhead {

/// Either a value or one sentence saying why there is none.
template <class T>
struct outcome {
  std::optional<T> value;
  std::string error;

  static outcome failure(std::string why) { return {std::nullopt, std::move(why)}; }
  explicit operator bool() const { return value.has_value(); }
};

} // namespace motorhead
