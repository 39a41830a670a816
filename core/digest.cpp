#include "core/digest.hpp"

#include <openssl/evp.h>

namespace motorhead {

namespace {

std::string hex_digest(std::string_view text, const EVP_MD* algorithm) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, algorithm, nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

} // namespace

std::string sha1_hex(std::string_view text) {
  return hex_digest(text, EVP_sha1());
}

std::string sha256_hex(std::string_view text) {
  return hex_digest(text, EVP_sha256());
}

} // namespace motorhead
