#include "core/utf8.hpp"

#include <string>

#include <gtest/gtest.h>

using namespace motorhead;

TEST(Utf8, AcceptsEveryWellFormedLength) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("Bogot\xc3\xa1"));             // U+00E1
  EXPECT_TRUE(is_valid_utf8("\xe2\x82\xac"));              // U+20AC
  EXPECT_TRUE(is_valid_utf8("\xef\xbf\xbf"));              // U+FFFF
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80"));          // U+1F600
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));          // U+10FFFF
  EXPECT_TRUE(is_valid_utf8(std::string{"a\0b", 3}));      // NUL is a character
}

struct malformed {
  const char* text;
  std::size_t offset;
};

class Utf8Malformed : public ::testing::TestWithParam<malformed> {};

TEST_P(Utf8Malformed, IsFoundAtItsFirstByte) {
  EXPECT_EQ(invalid_utf8_offset(GetParam().text), GetParam().offset)
    << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
  Sequences, Utf8Malformed,
  ::testing::Values(malformed{"ab\xff\xfe", 2},         // never in UTF-8
                    malformed{"\x80", 0},               // lone continuation
                    malformed{"\xc0\xaf", 0},           // overlong '/'
                    malformed{"\xc1\xbf", 0},           // overlong
                    malformed{"\xe0\x80\xaf", 0},       // overlong 3 bytes
                    malformed{"\xf0\x80\x80\xaf", 0},   // overlong 4 bytes
                    malformed{"x\xed\xa0\x80", 1},      // surrogate U+D800
                    malformed{"\xed\xbf\xbf", 0},       // surrogate U+DFFF
                    malformed{"\xf4\x90\x80\x80", 0},   // above U+10FFFF
                    malformed{"\xf5\x80\x80\x80", 0},   // lead byte F5
                    malformed{"ok\xe2\x82", 2},         // truncated at the end
                    malformed{"\xe2\x82x", 0},          // truncated mid-text
                    malformed{"\xc3\xa1\xc3", 2},      // valid, then cut
                    // past runs of eight ASCII bytes read at once
                    malformed{"01234567\x80", 8},
                    malformed{"0123456789\xff", 10},
                    malformed{"0123456\xc3\xa1\xff" "0123456789", 9},
                    malformed{"01234567abcdefgh\xe2\x82", 16}));

TEST(Utf8, BoundariesNeverSplitACharacter) {
  std::string text = "a\xc3\xa1\xe2\x82\xac";  // a, U+00E1, U+20AC
  EXPECT_EQ(utf8_boundary_at_or_before(text, 0), 0u);
  EXPECT_EQ(utf8_boundary_at_or_before(text, 1), 1u);
  EXPECT_EQ(utf8_boundary_at_or_before(text, 2), 1u);
  EXPECT_EQ(utf8_boundary_at_or_before(text, 3), 3u);
  EXPECT_EQ(utf8_boundary_at_or_before(text, 5), 3u);
  EXPECT_EQ(utf8_boundary_at_or_before(text, 6), 6u);
  EXPECT_EQ(utf8_boundary_at_or_before(text, 99), 6u);
}

TEST(Utf8, InvalidBytesBecomeReplacementCharacters) {
  EXPECT_EQ(to_valid_utf8("plain"), "plain");
  EXPECT_EQ(to_valid_utf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(to_valid_utf8("a\xff" "b"), "a\xef\xbf\xbd" "b");
  EXPECT_EQ(to_valid_utf8("\xed\xa0\x80"),
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(to_valid_utf8("x\xe2\x82"), "x\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_TRUE(is_valid_utf8(to_valid_utf8("\xc0\xaf\xf4\x90\x80\x80")));
}
