#include "core/text_terms.hpp"

#include <unordered_set>

#include "core/text.hpp"

namespace motorhead {

namespace {

const std::unordered_set<std::string>& stopwords() {
  static const std::unordered_set<std::string> words{
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and",
    "any", "are", "as", "at", "be", "because", "been", "before", "being",
    "below", "between", "both", "but", "by", "can", "could", "did", "do",
    "does", "doing", "don", "down", "during", "each", "few", "for", "from",
    "further", "had", "has", "have", "having", "he", "her", "here", "hers",
    "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself",
    "just", "let", "ll", "me", "more", "most", "my", "no", "nor", "not", "now",
    "of", "off", "ok", "okay", "on", "once", "only", "or", "other", "our",
    "out", "over", "own", "re", "same", "she", "should", "so", "some", "such",
    "than", "that", "the", "their", "them", "then", "there", "these", "they",
    "this", "those", "through", "to", "too", "under", "until", "up", "us",
    "ve", "very", "was", "we", "were", "what", "when", "where", "which",
    "while", "who", "whom", "why", "will", "with", "would", "yes", "you",
    "your", "yours", "thanks", "thank", "hi", "hello", "hey", "sure", "please",
    "really", "well", "one", "like", "get", "got", "s", "t", "d", "m"};
  return words;
}

/// Letters and digits of ASCII, and every byte of a multi-byte UTF-8
/// character. (The "C" locale's std::isalnum and std::tolower, which the
/// server never leaves, say the same for ASCII, at the cost of a call per
/// byte.)
bool is_word_byte(unsigned char c) {
  auto folded = c | 0x20; // 'A'-'Z' onto 'a'-'z'
  return (c >= '0' && c <= '9') || (folded >= 'a' && folded <= 'z')
         || c >= 0x80;
}

} // namespace

bool term_reader::next(std::string& term) {
  while (at_ < text_.size()) {
    term.clear();
    while (at_ < text_.size() && !is_word_byte(text_[at_]))
      ++at_;
    while (at_ < text_.size() && is_word_byte(text_[at_]))
      term.push_back(ascii_lower(text_[at_++]));
    if (term.size() >= 2 && stopwords().count(term) == 0)
      return true;
  }
  return false;
}

std::vector<std::string> content_terms(std::string_view text) {
  std::vector<std::string> terms;
  term_reader reader{text};
  for (std::string term; reader.next(term);)
    terms.push_back(term);
  return terms;
}

} // namespace motorhead
