#include "core/tokenizer.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <functional>
#include <sstream>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/ascii_pieces.hpp"
#include "core/rapidjson.hpp"

namespace motorhead {

struct bpe_tokenizer::compiled_pattern {
  pcre2_code* code = nullptr;

  ~compiled_pattern() { pcre2_code_free(code); }
};

namespace {

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
                        rank_table& ranks) {
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
      ranks.insert(token, static_cast<uint32_t>(rank++));
    }
  }
  return ranks.empty() ? "no ranks in bpe_ranks" : "";
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
  tokenizer.ascii_piece_end_ = ascii_splitter_for(
    {doc["pat_str"].GetString(), doc["pat_str"].GetStringLength()});
  return {std::move(tokenizer), {}};
}

namespace {

/// A thread's match data, for every pattern: the whole match is all the
/// tokenizer reads. (With a pattern's own match data and a vector of
/// tokens, both allocated and freed per message, counting a short one took
/// about 7 % longer.)
pcre2_match_data* thread_match_data() {
  struct owned {
    pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
    ~owned() { pcre2_match_data_free(data); }
  };
  thread_local owned match;
  return match.data;
}

} // namespace

void bpe_tokenizer::encode_into(std::string_view text,
                                std::vector<uint32_t>& tokens) const {
  if (ascii_piece_end_ != nullptr && is_ascii(text)) {
    for (std::size_t at = 0; at < text.size();) {
      auto end = ascii_piece_end_(text, at);
      encode_piece(text.substr(at, end - at), tokens);
      at = end;
    }
    return;
  }
  auto* match = thread_match_data();
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  PCRE2_SIZE offset = 0;
  while (offset < text.size()) {
    // 0 is a match too: the match data holds the whole match only.
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
}

std::vector<uint32_t> bpe_tokenizer::encode(std::string_view text) const {
  std::vector<uint32_t> tokens;
  encode_into(text, tokens);
  return tokens;
}

std::size_t bpe_tokenizer::count(std::string_view text) const {
  thread_local std::vector<uint32_t> tokens;
  tokens.clear();
  encode_into(text, tokens);
  return tokens.size();
}

/// tiktoken's byte-pair merge: start from single bytes and merge the
/// adjacent pair with the lowest rank until no pair has one, the leftmost
/// of equal ranks first.
void bpe_tokenizer::encode_piece(std::string_view piece,
                                 std::vector<uint32_t>& out) const {
  if (auto whole = ranks_.find(piece); whole != rank_table::no_rank) {
    out.push_back(whole);
    return;
  }
  if (piece.size() <= max_short_piece)
    merge_short_piece(piece, out);
  else
    merge_long_piece(piece, out);
}

/// A word's worth of bytes, merged the way tiktoken does it: the parts and
/// the rank of each with its right neighbour sit in arrays on the stack,
/// and each merge scans them for the lowest rank. O(n^2) rank comparisons,
/// but no allocation: most pieces that are not one token are a few bytes.
void bpe_tokenizer::merge_short_piece(std::string_view piece,
                                      std::vector<uint32_t>& out) const {
  // Part i is piece[start[i], start[i + 1]); start[parts] == piece.size().
  std::array<std::size_t, max_short_piece + 1> start;
  std::array<uint32_t, max_short_piece> pair_rank;
  std::size_t parts = piece.size();
  for (std::size_t i = 0; i <= parts; ++i)
    start[i] = i;
  auto rank_of_pair = [&](std::size_t left) {
    return left + 1 < parts
             ? ranks_.find(piece.substr(start[left], start[left + 2] - start[left]))
             : rank_table::no_rank;
  };
  for (std::size_t i = 0; i < parts; ++i)
    pair_rank[i] = rank_of_pair(i);
  for (;;) {
    std::size_t best = 0;
    for (std::size_t i = 1; i + 1 < parts; ++i)
      if (pair_rank[i] < pair_rank[best])
        best = i;
    if (parts < 2 || pair_rank[best] == rank_table::no_rank)
      break;
    // Part best absorbs part best + 1.
    std::copy(start.begin() + best + 2, start.begin() + parts + 1,
              start.begin() + best + 1);
    std::copy(pair_rank.begin() + best + 2, pair_rank.begin() + parts,
              pair_rank.begin() + best + 1);
    --parts;
    pair_rank[best] = rank_of_pair(best);
    if (best > 0)
      pair_rank[best - 1] = rank_of_pair(best - 1);
  }
  for (std::size_t i = 0; i < parts; ++i)
    out.push_back(ranks_.find(piece.substr(start[i], start[i + 1] - start[i])));
}

void bpe_tokenizer::merge_long_piece(std::string_view piece,
                                     std::vector<uint32_t>& out) const {
  // Byte pair merging: the adjacent parts whose union ranks lowest merge
  // first, the leftmost of equal ranks. The parts are a linked list over
  // the piece's bytes (part i starts at byte i while it lives), and the
  // candidate pairs wait in a heap, so that a piece of n bytes costs
  // O(n log n) rank lookups rather than O(n^2): a message of one long
  // run of letters (a single piece) must not take minutes of an actor's
  // thread.
  //
  // A candidate is its rank and its left part packed into one integer,
  // so that the heap orders by rank, then position. It is current while
  // its left part's pair still has that rank: a rank names one string, so
  // an equal rank is the same pair, and a part that was absorbed has none.
  using part_index = uint32_t;
  const auto none = static_cast<part_index>(piece.size());
  std::vector<part_index> next(piece.size());
  std::vector<part_index> prev(piece.size());
  std::vector<uint32_t> pair_rank(piece.size(), rank_table::no_rank);
  for (part_index i = 0; i < none; ++i) {
    next[i] = i + 1;
    prev[i] = i == 0 ? none : i - 1;
  }
  auto candidate = [](uint32_t rank, part_index left) {
    return (uint64_t{rank} << 32) | left;
  };
  std::vector<uint64_t> pairs;
  pairs.reserve(piece.size());
  auto rank_pair = [&](part_index left) {
    if (left == none || next[left] == none)
      return rank_table::no_rank;
    auto end = next[next[left]];
    return pair_rank[left] = ranks_.find(piece.substr(left, end - left));
  };
  for (part_index i = 0; i < none; ++i)
    if (auto rank = rank_pair(i); rank != rank_table::no_rank)
      pairs.push_back(candidate(rank, i));
  std::make_heap(pairs.begin(), pairs.end(), std::greater<>{});
  auto push_pair = [&](part_index left) {
    if (auto rank = rank_pair(left); rank != rank_table::no_rank) {
      pairs.push_back(candidate(rank, left));
      std::push_heap(pairs.begin(), pairs.end(), std::greater<>{});
    }
  };
  while (!pairs.empty()) {
    std::pop_heap(pairs.begin(), pairs.end(), std::greater<>{});
    auto best = pairs.back();
    pairs.pop_back();
    auto left = static_cast<part_index>(best);
    if (pair_rank[left] != static_cast<uint32_t>(best >> 32))
      continue;
    auto right = next[left];
    next[left] = next[right];
    if (next[right] != none)
      prev[next[right]] = left;
    pair_rank[right] = rank_table::no_rank; // absorbed
    pair_rank[left] = rank_table::no_rank;  // until pushed again
    push_pair(prev[left]);
    push_pair(left);
  }
  for (part_index i = 0; i != none; i = next[i])
    out.push_back(ranks_.find(piece.substr(i, next[i] - i)));
}

std::string encoding_for_model(const std::string& model) {
  auto starts_with = [&](const char* prefix) { return model.rfind(prefix, 0) == 0; };
  if (starts_with("gpt-4o") || starts_with("gpt-4.1") || starts_with("o1")
      || starts_with("o3") || starts_with("o4") || starts_with("gpt-5"))
    return "o200k_base";
  return "cl100k_base";
}

} // namespace motorhead
