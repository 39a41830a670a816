// The long-term memory of one session: every message it ever stored, with a
// BM25 index over their terms and, when a provider embeds them, their
// vectors. Searches are exact (brute force over one session).
//
// A search runs in three steps, so that the sessions of a namespace can
// each run them on their own messages and still rank as one index of them
// all would: the statistics of the query's terms (added up over sessions),
// each ranking's candidates under those statistics (merged, best kept), and
// their fusion.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/memory_types.hpp"

namespace motorhead {

struct search_hit {
  uint64_t seq = 0;
  double dist = 0; // ascending: nearest first
};

/// How deep each ranking goes into the fusion; also the largest top_k.
inline constexpr std::size_t fusion_depth = 100;

/// The distinct content terms of a query, sorted: the order of
/// corpus_stats::document_frequencies.
std::vector<std::string> query_terms(const std::string& text);

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

  /// The statistics of `terms` over every message (a filter narrows what a
  /// search answers, not what its terms weigh).
  corpus_stats stats(const std::vector<std::string>& terms) const;

  /// The best messages that pass `filter` in each ranking, as many as
  /// candidate_depth says: BM25 of `terms` under `stats`, and cosine
  /// similarity to `query_vector` (none when it is empty), named as
  /// `session_id`'s.
  search_candidates candidates(const std::string& session_id,
                               const std::vector<std::string>& terms,
                               const std::vector<float>& query_vector,
                               const corpus_stats& stats,
                               const retrieval_filter& filter,
                               std::size_t top_k) const;

  /// The session's own search for the query's `terms` (query_terms): BM25
  /// alone when `query_vector` is empty, else the reciprocal rank fusion of
  /// BM25 and cosine similarity. At most `top_k` hits.
  std::vector<search_hit> search(const std::vector<std::string>& terms,
                                 const std::vector<float>& query_vector,
                                 std::size_t top_k,
                                 const retrieval_filter& filter = {}) const;

private:
  struct doc {
    stored_message msg;
    std::size_t length = 0; // terms
    std::vector<float> vector;
    /// The members of the message's metadata, for filters.
    std::vector<std::pair<std::string, std::string>> metadata;
  };
  struct posting {
    std::size_t doc;
    uint32_t frequency;
    // The doc's length, here too: BM25 reads only the postings of a term,
    // not the docs, which lie elsewhere in memory. (It fills padding.)
    uint32_t length;
  };

  static bool passes(const doc& d, const retrieval_filter& filter);

  std::vector<doc> docs_;
  std::unordered_map<uint64_t, std::size_t> by_seq_;
  std::unordered_map<std::string, std::vector<posting>> postings_;
  std::size_t total_length_ = 0;
};

/// How many candidates each ranking needs for the best `top_k` hits: BM25
/// alone answers its own best; a fusion looks `fusion_depth` deep.
std::size_t candidate_depth(std::size_t top_k, bool hybrid);

/// Adds the statistics of another part of the corpus to `total`.
void add_stats(corpus_stats& total, const corpus_stats& part);

/// Adds another part's candidates to `into`, keeping at least the best
/// `fusion_depth` of each ranking (in no particular order: fuse sorts).
void merge_candidates(search_candidates& into, search_candidates part);

/// Adds another part's hits to `into`, in no particular order.
void merge_hits(std::vector<retrieval_hit>& into,
                std::vector<retrieval_hit> part);

/// The best `top_k` candidates, each with its dist (smaller is nearer) as
/// its score. BM25 alone (dist = 1 / (1 + score)) unless `hybrid`, else the
/// reciprocal rank fusion of both rankings (dist = 1 - fused / best
/// possible).
std::vector<ranked_message> fuse(search_candidates candidates,
                                 std::size_t top_k, bool hybrid);

/// Float32 vectors as Redis keeps them: packed little-endian bytes.
std::string pack_vector(const std::vector<float>& values);
std::vector<float> unpack_vector(const std::string& bytes);

} // namespace motorhead
