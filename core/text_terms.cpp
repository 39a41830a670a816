#include "core/text_terms.hpp"

#include <array>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string_view>

#include "core/text.hpp"

namespace motorhead {

namespace {

/// A word of up to eight bytes as one number: its bytes, lower-cased, from
/// the lowest byte up. Words of one length differ as numbers exactly when
/// they differ as text, and no word packs to 0.
class packed_word {
public:
  static constexpr std::size_t max_size = 8;

  void add(std::size_t index, char c) {
    if (index < max_size)
      bits_ |= uint64_t{static_cast<unsigned char>(ascii_lower(c))}
               << (8 * index);
  }
  uint64_t bits() const { return bits_; }

private:
  uint64_t bits_ = 0;
};

/// The stopwords as packed words in an open-addressing table: a word is
/// looked up without being copied or hashed as a string. (An
/// std::unordered_set<std::string> cost a fold a third of its
/// instructions.)
class stopword_table {
public:
  stopword_table(std::initializer_list<std::string_view> words) {
    for (auto word : words) {
      if (word.size() > packed_word::max_size)
        throw std::logic_error("a stopword is longer than a packed word");
      packed_word packed;
      for (std::size_t i = 0; i < word.size(); ++i)
        packed.add(i, word[i]);
      slots_[position(packed.bits())] = packed.bits();
    }
  }

  /// Whether the word of `size` bytes that packs to `packed` is one.
  bool contains(std::size_t size, packed_word packed) const {
    return size <= packed_word::max_size
           && slots_[position(packed.bits())] == packed.bits();
  }

private:
  static constexpr std::size_t slot_count = 512; // at most a third full

  /// The slot holding `bits`, or the free one where it would go.
  std::size_t position(uint64_t bits) const {
    auto i = static_cast<std::size_t>((bits * 0x9E3779B97F4A7C15u) >> 55);
    while (slots_[i] != 0 && slots_[i] != bits)
      i = (i + 1) % slot_count;
    return i;
  }

  std::array<uint64_t, slot_count> slots_{};
};

const stopword_table& stopwords() {
  static const stopword_table words{
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
    while (at_ < text_.size() && !is_word_byte(text_[at_]))
      ++at_;
    auto start = at_;
    packed_word packed;
    for (; at_ < text_.size() && is_word_byte(text_[at_]); ++at_)
      packed.add(at_ - start, text_[at_]);
    auto size = at_ - start;
    if (size < 2 || stopwords().contains(size, packed))
      continue;
    term.assign(text_.data() + start, size);
    for (auto& c : term)
      c = ascii_lower(c);
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
