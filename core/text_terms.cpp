#include "core/text_terms.hpp"

#include <cctype>
#include <unordered_set>

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

/// Lower-cased words; bytes of multi-byte UTF-8 characters count as letters.
std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c >= 0x80) {
      current.push_back(static_cast<char>(std::tolower(c)));
    } else if (!current.empty()) {
      words.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty())
    words.push_back(std::move(current));
  return words;
}

} // namespace

std::vector<std::string> content_terms(std::string_view text) {
  std::vector<std::string> terms;
  for (auto& word : words_of(text))
    if (word.size() >= 2 && stopwords().count(word) == 0)
      terms.push_back(std::move(word));
  return terms;
}

} // namespace motorhead
