// UTF-8 checks for untrusted text: request bodies, URLs, headers. Nothing
// that is not well-formed UTF-8 is stored, or every JSON client of the
// session would fail to decode it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace motorhead {

/// Offset of the first byte that does not belong to a well-formed UTF-8
/// sequence (Unicode table 3-7: no overlong forms, no surrogates, nothing
/// above U+10FFFF, nothing truncated), or npos when the text is valid.
std::size_t invalid_utf8_offset(std::string_view text);

inline bool is_valid_utf8(std::string_view text) {
  return invalid_utf8_offset(text) == std::string_view::npos;
}

/// `text` with each byte that starts no well-formed sequence replaced by
/// U+FFFD, for text from elsewhere (a provider's error page) that goes into
/// the log.
std::string to_valid_utf8(std::string_view text);

/// The largest character boundary of valid UTF-8 `text` at or before `pos`:
/// cutting there never splits a character.
std::size_t utf8_boundary_at_or_before(std::string_view text, std::size_t pos);

} // namespace motorhead
