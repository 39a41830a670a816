#include "core/ascii_pieces.hpp"

#include "core/text.hpp"

namespace motorhead {

namespace {

// The classes of the patterns, restricted to ASCII: \p{L} is a letter,
// \p{N} a digit, \s one of space, \t, \n, \v, \f and \r.
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_letter(char c) { return is_upper(c) || is_lower(c); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_line_break(char c) { return c == '\r' || c == '\n'; }
bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/// [^\s\p{L}\p{N}]: punctuation, symbols and control bytes.
bool is_symbol(char c) { return !is_space(c) && !is_letter(c) && !is_digit(c); }

/// [^\r\n\p{L}\p{N}]: what may lead a word.
bool may_lead_word(char c) {
  return !is_line_break(c) && !is_letter(c) && !is_digit(c);
}

template <class Class>
std::size_t end_of_run(std::string_view text, std::size_t at, Class in_class) {
  while (at < text.size() && in_class(text[at]))
    ++at;
  return at;
}

/// The length of the contraction ('s 't 're 've 'm 'll 'd) at `at`, or 0;
/// `any_case` for (?i:...).
std::size_t contraction_at(std::string_view text, std::size_t at, bool any_case) {
  if (at + 1 >= text.size() || text[at] != '\'')
    return 0;
  auto letter = [&](std::size_t i) {
    return any_case ? ascii_lower(text[i]) : text[i];
  };
  char first = letter(at + 1);
  if (first == 's' || first == 't' || first == 'm' || first == 'd')
    return 2;
  if (at + 2 >= text.size())
    return 0;
  char second = letter(at + 2);
  bool two_letters = (first == 'r' && second == 'e') || (first == 'v' && second == 'e')
                     || (first == 'l' && second == 'l');
  return two_letters ? 3 : 0;
}

/// \p{N}{1,3} at `at`, a digit: up to three digits. (Not the end of the
/// whole run, cut to three: a long number would be scanned once per three
/// of its digits, quadratic in its length.)
std::size_t up_to_three_digits(std::string_view text, std::size_t at) {
  auto end = at + 1;
  while (end < text.size() && end - at < 3 && is_digit(text[end]))
    ++end;
  return end;
}

/// \s+(?!\S)|\s+ at `at`, where a run of spaces starts: the run, but for
/// its last space when a non-space follows it and the run is longer than
/// one, so that the last space leads the next word.
std::size_t spaces_but_the_last(std::string_view text, std::size_t at) {
  auto end = end_of_run(text, at, is_space);
  return end < text.size() && end - at > 1 ? end - 1 : end;
}

/// \s*[\r\n]+ at `at`: the run of spaces up to its last line break, or 0
/// when the run holds none.
std::size_t through_last_line_break(std::string_view text, std::size_t at) {
  auto end = end_of_run(text, at, is_space);
  for (auto i = end; i > at; --i)
    if (is_line_break(text[i - 1]))
      return i;
  return 0;
}

/// ` ?[^\s\p{L}\p{N}]+` then any bytes of `trailing`, or 0.
template <class Trailing>
std::size_t symbols_at(std::string_view text, std::size_t at, Trailing trailing) {
  auto first = text[at] == ' ' ? at + 1 : at;
  if (first >= text.size() || !is_symbol(text[first]))
    return 0;
  return end_of_run(text, end_of_run(text, first, is_symbol), trailing);
}

/// The alternatives cl100k_base and o200k_base end with, at `at`, where no
/// word starts: \p{N}{1,3}| ?[^\s\p{L}\p{N}]+<trailing>*|\s*[\r\n]+|
/// \s+(?!\S)|\s+ (symbols take line breaks after them in both, slashes
/// too in o200k_base).
template <class Trailing>
std::size_t number_symbols_or_spaces(std::string_view text, std::size_t at,
                                     Trailing trailing) {
  if (is_digit(text[at]))
    return up_to_three_digits(text, at);
  if (auto end = symbols_at(text, at, trailing))
    return end;
  if (auto end = through_last_line_break(text, at))
    return end;
  return spaces_but_the_last(text, at);
}

/// cl100k_base:
/// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
///  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
std::size_t cl100k_piece_end(std::string_view text, std::size_t at) {
  if (auto length = contraction_at(text, at, true))
    return at + length;
  char c = text[at];
  if (is_letter(c))
    return end_of_run(text, at, is_letter);
  if (may_lead_word(c) && at + 1 < text.size() && is_letter(text[at + 1]))
    return end_of_run(text, at + 1, is_letter);
  return number_symbols_or_spaces(text, at, is_line_break);
}

/// o200k_base: words are split where a lower-case letter meets an upper
/// case one, and keep the contraction that follows them.
/// [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|...)?|
/// [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|...)?|
/// \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
std::size_t o200k_piece_end(std::string_view text, std::size_t at) {
  auto word = at;
  if (may_lead_word(text[at]) && at + 1 < text.size() && is_letter(text[at + 1]))
    word = at + 1;
  if (is_letter(text[word])) {
    // Upper case letters, then lower case ones: at least one of either.
    auto lower = end_of_run(text, word, is_upper);
    auto end = end_of_run(text, lower, is_lower);
    return end + contraction_at(text, end, true);
  }
  auto slash_or_line_break = [](char c) { return c == '/' || is_line_break(c); };
  return number_symbols_or_spaces(text, at, slash_or_line_break);
}

/// p50k_base and r50k_base:
/// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
std::size_t p50k_piece_end(std::string_view text, std::size_t at) {
  if (auto length = contraction_at(text, at, false))
    return at + length;
  auto first = text[at] == ' ' && at + 1 < text.size() ? at + 1 : at;
  if (is_letter(text[first]))
    return end_of_run(text, first, is_letter);
  if (is_digit(text[first]))
    return end_of_run(text, first, is_digit);
  if (auto end = symbols_at(text, at, [](char) { return false; }))
    return end;
  return spaces_but_the_last(text, at);
}

} // namespace

ascii_piece_end ascii_splitter_for(std::string_view pattern) {
  static constexpr std::string_view cl100k =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static constexpr std::string_view o200k =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static constexpr std::string_view p50k =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
  if (pattern == cl100k)
    return cl100k_piece_end;
  if (pattern == o200k)
    return o200k_piece_end;
  if (pattern == p50k)
    return p50k_piece_end;
  return nullptr;
}

bool is_ascii(std::string_view text) {
  unsigned char seen = 0;
  for (char c : text)
    seen |= static_cast<unsigned char>(c);
  return seen < 0x80;
}

} // namespace motorhead
