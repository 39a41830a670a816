// A byte-pair-encoding tokenizer compatible with OpenAI's (tiktoken): counts
// tokens the way the provider bills them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/ascii_pieces.hpp"
#include "core/outcome.hpp"
#include "core/rank_table.hpp"

namespace motorhead {

class bpe_tokenizer {
public:
  /// Loads an encoder file of the npm package tiktoken
  /// (`encoders/<name>.json`: pat_str, special_tokens, bpe_ranks).
  static outcome<bpe_tokenizer> load_file(const std::string& path);

  /// Parses the same content from memory.
  static outcome<bpe_tokenizer> load(std::string_view json_text);

  /// Tokens of `text`; special tokens are treated as ordinary text.
  std::vector<uint32_t> encode(std::string_view text) const;

  /// How many tokens `text` is, counted on buffers the thread reuses.
  std::size_t count(std::string_view text) const;

private:
  struct compiled_pattern;

  void encode_into(std::string_view text, std::vector<uint32_t>& out) const;

  void encode_piece(std::string_view piece, std::vector<uint32_t>& out) const;

  /// The longest piece merged on the stack; longer ones merge in
  /// O(n log n) with a heap.
  static constexpr std::size_t max_short_piece = 64;

  void merge_short_piece(std::string_view piece, std::vector<uint32_t>& out) const;

  void merge_long_piece(std::string_view piece, std::vector<uint32_t>& out) const;

  rank_table ranks_;
  std::shared_ptr<compiled_pattern> pattern_;
  /// Splits ASCII text as pattern_ would, when the pattern is a known one.
  ascii_piece_end ascii_piece_end_ = nullptr;
};

/// The encoding OpenAI uses for a chat model: o200k_base for the gpt-4o and
/// o-series families, cl100k_base for the rest of the chat models.
std::string encoding_for_model(const std::string& model);

} // namespace motorhead
