// Hex digests (OpenSSL's EVP): SHA-1 names Lua scripts as Redis does;
// SHA-256 names an API key without its secret.
#pragma once

#include <string>
#include <string_view>

namespace motorhead {

std::string sha1_hex(std::string_view text);
std::string sha256_hex(std::string_view text);

} // namespace motorhead
