// The long-term memory of one session: every message it ever stored, with a
// BM25 index over their terms and, when a provider embeds them, their
// vectors. Searches are exact (brute force over one session).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/memory_types.hpp"

namespace motorhead {

struct search_hit {
  uint64_t seq = 0;
  double dist = 0; // ascending: nearest first
};

class retrieval_index {
public:
  /// Adds a message; a seq already indexed is ignored.
  void add(const stored_message& msg);

  /// Sets a message's embedding (normalised here, so cosine is a dot).
  void set_vector(uint64_t seq, std::vector<float> values);

  std::size_t size() const { return docs_.size(); }
  bool contains(uint64_t seq) const { return by_seq_.count(seq) > 0; }
  const stored_message& message(uint64_t seq) const;

  /// Seqs of messages that have no vector yet, oldest first.
  std::vector<uint64_t> unembedded() const;

  /// BM25 alone when `query_vector` is empty; else the reciprocal rank
  /// fusion of BM25 and cosine similarity. At most `top_k` hits.
  std::vector<search_hit> search(const std::string& query,
                                 const std::vector<float>& query_vector,
                                 std::size_t top_k) const;

private:
  struct doc {
    stored_message msg;
    std::size_t length = 0; // terms
    std::vector<float> vector;
  };
  struct posting {
    std::size_t doc;
    uint32_t frequency;
  };
  using ranking = std::vector<std::pair<std::size_t, double>>; // doc, score

  ranking bm25(const std::string& query) const;
  ranking cosine(const std::vector<float>& query) const;

  std::vector<doc> docs_;
  std::unordered_map<uint64_t, std::size_t> by_seq_;
  std::unordered_map<std::string, std::vector<posting>> postings_;
  std::size_t total_length_ = 0;
};

/// Float32 vectors as Redis keeps them: packed little-endian bytes.
std::string pack_vector(const std::vector<float>& values);
std::vector<float> unpack_vector(const std::string& bytes);

} // namespace motorhead
