// Known token ids, as the tiktoken npm package (OpenAI's reference
// implementation compiled to WebAssembly) encodes these strings.
#include "core/tokenizer.hpp"

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

using namespace motorhead;

namespace {

struct known_encoding {
  const char* encoding;
  const char* text;
  std::vector<uint32_t> tokens;
};

const bpe_tokenizer& tokenizer(const std::string& name) {
  static std::map<std::string, bpe_tokenizer> loaded;
  auto it = loaded.find(name);
  if (it == loaded.end()) {
    auto result = bpe_tokenizer::load_file(
      std::string{MOTORHEAD_TEST_TOKENIZER_DIR} + "/" + name + ".json");
    if (!result)
      throw std::runtime_error(result.error);
    it = loaded.emplace(name, std::move(*result.value)).first;
  }
  return it->second;
}

} // namespace

class KnownEncodings : public ::testing::TestWithParam<known_encoding> {};

TEST_P(KnownEncodings, MatchTiktoken) {
  const auto& known = GetParam();
  EXPECT_EQ(tokenizer(known.encoding).encode(known.text), known.tokens)
    << known.encoding << ": " << known.text;
}

INSTANTIATE_TEST_SUITE_P(
  Strings, KnownEncodings,
  ::testing::Values(
    known_encoding{"cl100k_base", "hello world", {15339, 1917}},
    known_encoding{"cl100k_base", "tiktoken is great!", {83, 1609, 5963, 374, 2294, 0}},
    known_encoding{"cl100k_base", "Human: hello there, how are you?",
                   {35075, 25, 24748, 1070, 11, 1268, 527, 499, 30}},
    known_encoding{"cl100k_base",
                   "Bogot\xc3\xa1 tiene clubes de salsa \xf0\x9f\x92\x83 y techno "
                   "\xe2\x80\x94 \xc2\xbf" "cu\xc3\xa1l?",
                   {33, 540, 354, 1995, 24215, 6469, 288, 409, 74314, 64139, 225,
                    379, 89999, 2001, 29386, 20811, 19540, 30}},
    known_encoding{"cl100k_base", "  indented\n\n\tcode() {}\r\n",
                   {220, 1280, 16243, 271, 44443, 368, 35241}},
    known_encoding{"cl100k_base", "I'll've 12345678 apples",
                   {40, 3358, 3077, 220, 4513, 10961, 2495, 41776}},
    known_encoding{"cl100k_base", "", {}},
    known_encoding{"p50k_base", "Human: hello there, how are you?",
                   {20490, 25, 23748, 612, 11, 703, 389, 345, 30}},
    known_encoding{"p50k_base", "  indented\n\n\tcode() {}\r\n",
                   {220, 773, 4714, 628, 197, 8189, 3419, 23884, 201, 198}},
    known_encoding{"o200k_base", "tiktoken is great!", {83, 8251, 2488, 382, 2212, 0}},
    known_encoding{"o200k_base", "I'll've 12345678 apples",
                   {67504, 7341, 220, 7633, 19354, 4388, 57814}}));

TEST(Tokenizer, SurvivesInvalidUtf8) {
  auto tokens = tokenizer("cl100k_base").encode("ok \xff\xfe bytes");
  EXPECT_FALSE(tokens.empty());
}

TEST(Tokenizer, RejectsFilesThatAreNotEncoders) {
  EXPECT_FALSE(bpe_tokenizer::load("{}"));
  EXPECT_FALSE(bpe_tokenizer::load(R"({"pat_str":"(","bpe_ranks":"! 0 IQ=="})"));
  EXPECT_FALSE(bpe_tokenizer::load_file("/nonexistent/cl100k_base.json"));
}

TEST(Tokenizer, PicksTheEncodingOfAModel) {
  EXPECT_EQ(encoding_for_model("gpt-3.5-turbo"), "cl100k_base");
  EXPECT_EQ(encoding_for_model("gpt-4"), "cl100k_base");
  EXPECT_EQ(encoding_for_model("gpt-4o-mini"), "o200k_base");
}

namespace {

/// The rank of `bytes` as one token, or none: encoding a string that is a
/// token answers that token alone, whatever the merge algorithm.
std::optional<uint32_t> rank_as_token(const bpe_tokenizer& tok,
                                      const std::string& bytes) {
  auto tokens = tok.encode(bytes);
  if (tokens.size() == 1)
    return tokens[0];
  return std::nullopt;
}

/// Byte pair merging as the reference describes it, in O(n^2): the lowest
/// ranked adjacent pair merges, the leftmost of equal ranks.
std::vector<uint32_t> reference_merge(const bpe_tokenizer& tok,
                                      const std::string& piece) {
  std::vector<std::string> parts;
  for (char c : piece)
    parts.emplace_back(1, c);
  for (;;) {
    std::optional<uint32_t> best;
    std::size_t at = 0;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i)
      if (auto rank = rank_as_token(tok, parts[i] + parts[i + 1]);
          rank && (!best || *rank < *best)) {
        best = rank;
        at = i;
      }
    if (!best)
      break;
    parts[at] += parts[at + 1];
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(at) + 1);
  }
  std::vector<uint32_t> tokens;
  for (const auto& part : parts)
    tokens.push_back(*rank_as_token(tok, part));
  return tokens;
}

} // namespace

TEST(Tokenizer, PiecesMergeAsTheReferenceDoes) {
  // Runs of letters are one piece each: their merging is all there is.
  // Pieces of up to 64 bytes merge on the stack, longer ones with a heap:
  // half the rounds take each way. Runs of one or two letters make many
  // equal pairs that overlap, where the leftmost must merge first.
  const auto& tok = tokenizer("cl100k_base");
  std::mt19937 random{42};
  const std::string alphabets[] = {"abcxyz", "x", "ab"};
  for (int round = 0; round < 120; ++round) {
    auto length = round % 2 == 0 ? 1 + random() % 64 : 65 + random() % 136;
    const auto& alphabet = alphabets[round % 3];
    std::string piece(length, 'a');
    for (auto& c : piece)
      c = alphabet[random() % alphabet.size()];
    EXPECT_EQ(tok.encode(piece), reference_merge(tok, piece)) << piece;
  }
}

TEST(Tokenizer, ALongNumberIsCountedInOnePass) {
  // 4 MiB of digits: pieces of three digits each. Finding each piece's end
  // by the end of the whole run was quadratic: hours for this one.
  std::string digits(4 * 1024 * 1024, '7');
  for (const char* encoding : {"cl100k_base", "o200k_base", "p50k_base"})
    EXPECT_GT(tokenizer(encoding).count(digits), 0u) << encoding;
}

TEST(Tokenizer, AMessageOfOneLongRunIsCountedWhole) {
  // 256 KiB of one letter: a single piece, once quadratic in its length.
  std::string run(256 * 1024, 'x');
  const auto& tok = tokenizer("p50k_base");
  auto tokens = tok.encode(run);
  ASSERT_FALSE(tokens.empty());
  EXPECT_LT(tokens.size(), run.size() / 4);
}

TEST(RankTable, FindsEveryKeyItHoldsAndNoOther) {
  rank_table ranks;
  std::vector<std::string> keys;
  for (uint32_t i = 0; i < 5000; ++i) // past several doublings
    keys.push_back("k" + std::to_string(i));
  keys.push_back(std::string("\0\xff", 2)); // any bytes
  for (uint32_t i = 0; i < keys.size(); ++i)
    ranks.insert(keys[i], i);
  ASSERT_EQ(ranks.size(), keys.size());
  for (uint32_t i = 0; i < keys.size(); ++i)
    EXPECT_EQ(ranks.find(keys[i]), i) << keys[i];
  for (const char* missing : {"k", "k5000", "k12 ", "", "\0"})
    EXPECT_EQ(ranks.find(missing), rank_table::no_rank) << missing;
}

TEST(RankTable, KeepsTheFirstRankOfAKeyAndIgnoresEmptyOnes) {
  rank_table ranks;
  EXPECT_EQ(ranks.find("a"), rank_table::no_rank); // before any insert
  EXPECT_EQ(ranks.insert("ab", 1), 1u);
  EXPECT_EQ(ranks.insert("ab", 2), 1u); // the rank it holds
  EXPECT_EQ(ranks.insert("", 3), rank_table::no_rank);
  EXPECT_EQ(ranks.size(), 1u);
  EXPECT_EQ(ranks.find("ab"), 1u);
  EXPECT_EQ(ranks.find("a"), rank_table::no_rank); // a prefix is another key
  EXPECT_EQ(ranks.find("abc"), rank_table::no_rank);
}
