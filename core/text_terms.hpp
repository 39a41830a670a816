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

/// The same terms one at a time, each into a string the caller keeps: no
/// allocation per term once it is long enough.
class term_reader {
public:
  explicit term_reader(std::string_view text) : text_(text) {}

  /// The next term into `term`; false when there is none left.
  bool next(std::string& term);

private:
  std::string_view text_;
  std::size_t at_ = 0;
};

} // namespace motorhead
