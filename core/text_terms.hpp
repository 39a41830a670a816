// The terms of a text, as the summarizer weighs them and the lexical index
// matches them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace motorhead {

/// Lower-cased words of two characters or more, without stopwords, in
/// order; bytes of multi-byte UTF-8 characters count as letters.
std::vector<std::string> content_terms(std::string_view text);

} // namespace motorhead
