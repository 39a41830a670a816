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

} // namespace motorhead
