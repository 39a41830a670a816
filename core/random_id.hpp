// Random identifiers: request ids and the ids of messages that arrive
// without one.
#pragma once

#include <cstddef>
#include <string>

namespace motorhead {

/// `digits` random lowercase hex digits.
std::string random_hex(std::size_t digits);

/// A random (version 4) UUID, lowercase: 8-4-4-4-12 hex digits.
std::string random_uuid();

/// Whether character `i` of a UUID's text is one of its hyphens.
constexpr bool is_uuid_hyphen_position(std::size_t i) {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

} // namespace motorhead
