#include "core/openssl_reason.hpp"

#include <openssl/err.h>

namespace motorhead {

std::string openssl_reason() {
  std::string reason;
  while (auto code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    reason = text;
  }
  return reason;
}

} // namespace motorhead
