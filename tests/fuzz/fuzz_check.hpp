// What every fuzz target asserts beyond "no crash, no leak": a property
// failure aborts, so libFuzzer keeps the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/utf8.hpp"

namespace motorhead::fuzz {

inline void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "property failed: %s\n", what);
    std::abort();
  }
}

/// Whatever a decoder accepts is text a JSON client can decode.
inline void check_utf8(std::string_view text, const char* what) {
  check(is_valid_utf8(text), what);
}

} // namespace motorhead::fuzz
