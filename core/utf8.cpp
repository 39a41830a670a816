#include "core/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace motorhead {

namespace {

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

/// Whether none of the eight bytes at `at` has its high bit set.
bool eight_ascii_bytes(const char* at) {
  uint64_t word;
  std::memcpy(&word, at, sizeof word);
  return (word & 0x8080808080808080u) == 0;
}

/// The length of the well-formed sequence at the start of `text`, or 0.
std::size_t sequence_length(std::string_view text) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  auto lead = byte(0);
  if (lead < 0x80)
    return 1;
  // The second byte's range depends on the lead byte; later ones are any
  // continuation byte.
  unsigned char low = 0x80, high = 0xBF;
  std::size_t length = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0)
      low = 0xA0; // overlong below U+0800
    if (lead == 0xED)
      high = 0x9F; // surrogates U+D800..U+DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0)
      low = 0x90; // overlong below U+10000
    if (lead == 0xF4)
      high = 0x8F; // above U+10FFFF
  } else {
    return 0; // a continuation byte, C0, C1 or F5..FF
  }
  if (text.size() < length || byte(1) < low || byte(1) > high)
    return 0;
  for (std::size_t i = 2; i < length; ++i)
    if (!is_continuation(byte(i)))
      return 0;
  return length;
}

} // namespace

std::size_t invalid_utf8_offset(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    // Runs of ASCII are the common case: eight bytes at a time while no
    // byte has its high bit set.
    if (i + 8 <= text.size() && eight_ascii_bytes(text.data() + i)) {
      i += 8;
      continue;
    }
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    auto length = sequence_length(text.substr(i));
    if (length == 0)
      return i;
    i += length;
  }
  return std::string_view::npos;
}

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    auto bad = invalid_utf8_offset(text.substr(i));
    if (bad == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, bad));
    out += "\xEF\xBF\xBD"; // U+FFFD
    i += bad + 1;
  }
  return out;
}

std::size_t utf8_boundary_at_or_before(std::string_view text, std::size_t pos) {
  if (pos >= text.size())
    return text.size();
  while (pos > 0 && is_continuation(static_cast<unsigned char>(text[pos])))
    --pos;
  return pos;
}

} // namespace motorhead
