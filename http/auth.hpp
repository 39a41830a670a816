// API keys: reading the credentials a request carries and checking them.
// Pure functions, tested on their own.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/settings.hpp"

namespace motorhead::http {

/// The token of an `Authorization: Bearer <token>` header. The scheme is
/// case-insensitive (RFC 7235) and blanks around the token are ignored;
/// empty when the header is not a Bearer credential.
std::string_view bearer_token(std::string_view authorization);

/// The entry of `keys` whose secret is `key`, or null. Every key is
/// compared, each in a time that does not depend on where the first
/// difference lies, so timing tells nothing of a key's bytes (only, at
/// most, of its length).
const api_key* find_key(std::string_view key, const std::vector<api_key>& keys);

} // namespace motorhead::http
