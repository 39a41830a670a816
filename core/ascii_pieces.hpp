// The pieces a tokenizer's pattern (pat_str) splits ASCII text into, found
// without a regular expression engine. Before its byte pairs merge, text is
// split by the encoding's pattern; PCRE2 spent about 90 instructions a byte
// on it, most of the cost of counting a short English message. For the
// patterns of OpenAI's encodings, and text of ASCII bytes alone, the same
// pieces follow from a few character classes; a test compares them with
// PCRE2's on random text.
#pragma once

#include <cstddef>
#include <string_view>

namespace motorhead {

/// Where the piece that starts at `at` (< text.size()) ends: the end of
/// the pattern's match there. Only for text of ASCII bytes.
using ascii_piece_end = std::size_t (*)(std::string_view text, std::size_t at);

/// The splitter of a known pattern (cl100k_base, o200k_base, p50k_base,
/// r50k_base), or nullptr: other patterns take the regular expression.
ascii_piece_end ascii_splitter_for(std::string_view pattern);

/// Whether every byte of `text` is ASCII.
bool is_ascii(std::string_view text);

} // namespace motorhead
