// The ASCII splitters against PCRE2 running the encodings' own patterns,
// as the tokenizer compiles them, on random text made of the bytes the
// patterns tell apart.
#include "core/ascii_pieces.hpp"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/pattern_pieces.hpp"

using namespace motorhead;
using namespace motorhead::testing;

namespace {

/// Text that exercises each alternative of the patterns: words in either
/// case and their contractions, digit runs, runs of spaces and line
/// breaks, symbols, slashes and control bytes.
std::string random_text(std::mt19937& random) {
  static const std::vector<std::string> atoms = {
    "a",  "Z",  "hello", "WORLD", "CamelCase", "'s", "'S",  "'t", "'re", "'VE",
    "'m", "'ll", "'Ll",  "'d",    "'",         "'x", "0",   "42", "12345", " ",
    "  ", "\t", "\n",    "\r\n",  "\r",        "\v", "\f",  "!",  "...",  "/",
    "//", "-",  "_",     "\"",    "(",         "}",  "\x01", "\x7f", "@", "#"};
  std::string text;
  auto length = random() % 24;
  for (std::size_t i = 0; i < length; ++i)
    text += atoms[random() % atoms.size()];
  return text;
}

} // namespace

class AsciiPieces : public ::testing::TestWithParam<const char*> {};

TEST_P(AsciiPieces, SplitAsTheRegularExpressionDoes) {
  auto pattern = pattern_of(MOTORHEAD_TEST_TOKENIZER_DIR, GetParam());
  auto end_of = ascii_splitter_for(pattern);
  ASSERT_NE(end_of, nullptr) << "the pattern of " << GetParam() << " is not known";
  regex_splitter regex{pattern};
  std::mt19937 random{7};
  for (int round = 0; round < 20000; ++round) {
    auto text = random_text(random);
    ASSERT_EQ(ascii_pieces(end_of, text), regex.pieces(text)) << '"' << text << '"';
  }
}

INSTANTIATE_TEST_SUITE_P(Encodings, AsciiPieces,
                         ::testing::Values("cl100k_base", "o200k_base", "p50k_base"));

TEST(AsciiPieces, OtherPatternsTakeTheRegularExpression) {
  EXPECT_EQ(ascii_splitter_for("\\s+|\\S+"), nullptr);
}

TEST(AsciiPieces, TellsAsciiText) {
  EXPECT_TRUE(is_ascii(""));
  EXPECT_TRUE(is_ascii("plain text\r\n\x7f"));
  EXPECT_FALSE(is_ascii("caf\xc3\xa9"));
  EXPECT_FALSE(is_ascii("\xff"));
}
