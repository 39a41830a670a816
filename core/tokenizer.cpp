#include "core/tokenizer.hpp"

#include <fstream>
#include <limits>
#include <sstream>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/rapidjson.hpp"

namespace motorhead {

struct bpe_tokenizer::compiled_pattern {
  pcre2_code* code = nullptr;

  ~compiled_pattern() { pcre2_code_free(code); }
};

namespace {

constexpr uint32_t no_rank = std::numeric_limits<uint32_t>::max();

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=')
      break;
    int value = base64_value(c);
    if (value < 0)
      return false;
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return true;
}

/// Reads the "bpe_ranks" text: lines of "! <first rank> <base64 token>...",
/// where the n-th token of a line has rank first + n.
std::string parse_ranks(std::string_view text,
                        std::unordered_map<std::string, uint32_t>& ranks) {
  std::istringstream lines{std::string{text}};
  std::string line;
  std::string token;
  while (std::getline(lines, line)) {
    std::istringstream fields{line};
    std::string marker;
    uint64_t rank = 0;
    if (!(fields >> marker >> rank))
      return "malformed bpe_ranks line";
    std::string encoded;
    while (fields >> encoded) {
      if (!base64_decode(encoded, token))
        return "malformed base64 token in bpe_ranks";
      ranks.emplace(token, static_cast<uint32_t>(rank++));
    }
  }
  return ranks.empty() ? "no ranks in bpe_ranks" : "";
}

uint32_t rank_of(const std::unordered_map<std::string, uint32_t>& ranks,
                 std::string_view bytes) {
  auto it = ranks.find(std::string{bytes});
  return it == ranks.end() ? no_rank : it->second;
}

} // namespace

outcome<bpe_tokenizer> bpe_tokenizer::load_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return outcome<bpe_tokenizer>::failure("cannot read tokenizer file " + path);
  std::stringstream content;
  content << in.rdbuf();
  auto result = load(content.str());
  if (!result)
    result.error = path + ": " + result.error;
  return result;
}

outcome<bpe_tokenizer> bpe_tokenizer::load(std::string_view json_text) {
  using result = outcome<bpe_tokenizer>;
  rapidjson::Document doc;
  doc.Parse(json_text.data(), json_text.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("pat_str")
      || !doc["pat_str"].IsString() || !doc.HasMember("bpe_ranks")
      || !doc["bpe_ranks"].IsString())
    return result::failure("not a tiktoken encoder file");
  bpe_tokenizer tokenizer;
  auto err = parse_ranks({doc["bpe_ranks"].GetString(),
                          doc["bpe_ranks"].GetStringLength()},
                         tokenizer.ranks_);
  if (!err.empty())
    return result::failure(err);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  auto pattern = std::make_shared<compiled_pattern>();
  pattern->code = pcre2_compile(
    reinterpret_cast<PCRE2_SPTR>(doc["pat_str"].GetString()),
    doc["pat_str"].GetStringLength(),
    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error_code,
    &error_offset, nullptr);
  if (pattern->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    return result::failure(std::string{"cannot compile pat_str: "}
                           + reinterpret_cast<const char*>(message));
  }
  pcre2_jit_compile(pattern->code, PCRE2_JIT_COMPLETE); // optional speed-up
  tokenizer.pattern_ = std::move(pattern);
  return {std::move(tokenizer), {}};
}

std::vector<uint32_t> bpe_tokenizer::encode(std::string_view text) const {
  std::vector<uint32_t> tokens;
  auto* match = pcre2_match_data_create_from_pattern(pattern_->code, nullptr);
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  PCRE2_SIZE offset = 0;
  while (offset < text.size()) {
    int rc = pcre2_match(pattern_->code, subject, text.size(), offset, 0, match,
                         nullptr);
    if (rc < 0)
      break;
    auto* ovector = pcre2_get_ovector_pointer(match);
    auto start = ovector[0];
    auto end = ovector[1];
    if (end == start) { // an empty match cannot advance: skip one byte
      ++offset;
      continue;
    }
    encode_piece(text.substr(start, end - start), tokens);
    offset = end;
  }
  pcre2_match_data_free(match);
  return tokens;
}

/// tiktoken's byte-pair merge: start from single bytes and merge the
/// adjacent pair with the lowest rank until no pair has one.
void bpe_tokenizer::encode_piece(std::string_view piece,
                                 std::vector<uint32_t>& out) const {
  if (auto whole = rank_of(ranks_, piece); whole != no_rank) {
    out.push_back(whole);
    return;
  }
  // Boundaries of the current parts; part i is [bounds[i], bounds[i + 1]).
  std::vector<std::size_t> bounds(piece.size() + 1);
  for (std::size_t i = 0; i <= piece.size(); ++i)
    bounds[i] = i;
  auto pair_rank = [&](std::size_t i) {
    if (i + 2 >= bounds.size())
      return no_rank;
    return rank_of(ranks_, piece.substr(bounds[i], bounds[i + 2] - bounds[i]));
  };
  while (bounds.size() > 2) {
    uint32_t best = no_rank;
    std::size_t best_index = 0;
    for (std::size_t i = 0; i + 2 < bounds.size(); ++i)
      if (auto rank = pair_rank(i); rank < best) {
        best = rank;
        best_index = i;
      }
    if (best == no_rank)
      break;
    bounds.erase(bounds.begin() + static_cast<std::ptrdiff_t>(best_index) + 1);
  }
  for (std::size_t i = 0; i + 1 < bounds.size(); ++i)
    out.push_back(
      rank_of(ranks_, piece.substr(bounds[i], bounds[i + 1] - bounds[i])));
}

std::string encoding_for_model(const std::string& model) {
  auto starts_with = [&](const char* prefix) { return model.rfind(prefix, 0) == 0; };
  if (starts_with("gpt-4o") || starts_with("gpt-4.1") || starts_with("o1")
      || starts_with("o3") || starts_with("o4") || starts_with("gpt-5"))
    return "o200k_base";
  return "cl100k_base";
}

} // namespace motorhead
