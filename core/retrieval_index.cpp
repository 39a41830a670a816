#include "core/retrieval_index.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <stdexcept>

#include "core/json_codec.hpp"
#include "core/text_terms.hpp"

namespace motorhead {

namespace {

constexpr double bm25_k1 = 1.2;
constexpr double bm25_b = 0.75;
/// Reciprocal rank fusion's constant: 1 / (k + rank), as in Cormack et al.
constexpr double rrf_k = 60;

/// The order of a ranking: higher score first; ties go to the newer
/// message, then to the session whose id sorts first.
bool ranks_before(const ranked_message& a, const ranked_message& b) {
  if (a.score != b.score)
    return a.score > b.score;
  if (a.seq != b.seq)
    return a.seq > b.seq;
  return a.session_id < b.session_id;
}

/// Keeps the best `depth` entries, best first.
void keep_best(std::vector<ranked_message>& ranked, std::size_t depth) {
  depth = std::min(depth, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + depth, ranked.end(),
                    ranks_before);
  ranked.resize(depth);
}

bool is_empty(const retrieval_filter& filter) {
  return filter.roles.empty() && filter.metadata.empty()
         && filter.created_after == std::numeric_limits<int64_t>::min()
         && filter.created_before == std::numeric_limits<int64_t>::max();
}

/// A session's own scores, by seq: ranked without the session's id, which
/// only the best are given.
using seq_scores = std::vector<std::pair<uint64_t, double>>;

/// The best `depth` of `scores`, as ranks_before orders them, named as
/// `session_id`'s.
std::vector<ranked_message> best_of(seq_scores& scores, std::size_t depth,
                                    const std::string& session_id) {
  depth = std::min(depth, scores.size());
  std::partial_sort(scores.begin(), scores.begin() + depth, scores.end(),
                    [](const auto& a, const auto& b) {
                      return a.second != b.second ? a.second > b.second
                                                  : a.first > b.first;
                    });
  std::vector<ranked_message> best;
  best.reserve(depth);
  for (std::size_t i = 0; i < depth; ++i)
    best.push_back({session_id, scores[i].first, scores[i].second});
  return best;
}

/// Eight independent partial sums: the compiler can keep them in vector
/// registers, which one running sum (a strict order of additions) forbids.
float dot(const float* a, const float* b, std::size_t n) {
  float partial[8] = {};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (std::size_t lane = 0; lane < 8; ++lane)
      partial[lane] += a[i + lane] * b[i + lane];
  float sum = 0;
  for (; i < n; ++i)
    sum += a[i] * b[i];
  for (float p : partial)
    sum += p;
  return sum;
}

void normalise(std::vector<float>& values) {
  double norm = 0;
  for (float v : values)
    norm += static_cast<double>(v) * v;
  norm = std::sqrt(norm);
  if (norm > 0)
    for (auto& v : values)
      v = static_cast<float>(v / norm);
}

} // namespace

std::vector<std::string> query_terms(const std::string& text) {
  auto terms = content_terms(text);
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  return terms;
}

void retrieval_index::add(const stored_message& msg) {
  if (contains(msg.seq))
    return;
  auto index = docs_.size();
  std::map<std::string, uint32_t> frequencies;
  std::size_t length = 0;
  for (auto& term : content_terms(msg.content)) {
    ++frequencies[term];
    ++length;
  }
  for (auto& [term, frequency] : frequencies)
    postings_[term].push_back({index, frequency, static_cast<uint32_t>(length)});
  docs_.push_back({msg, length, {}, json::metadata_members(msg.details.metadata)});
  by_seq_.emplace(msg.seq, index);
  total_length_ += length;
}

void retrieval_index::set_vector(uint64_t seq, std::vector<float> values) {
  auto it = by_seq_.find(seq);
  if (it == by_seq_.end())
    return;
  normalise(values);
  docs_[it->second].vector = std::move(values);
}

const stored_message& retrieval_index::message(uint64_t seq) const {
  return docs_.at(by_seq_.at(seq)).msg;
}

std::vector<uint64_t> retrieval_index::unembedded() const {
  std::vector<uint64_t> seqs;
  for (const auto& d : docs_)
    if (d.vector.empty())
      seqs.push_back(d.msg.seq);
  std::sort(seqs.begin(), seqs.end());
  return seqs;
}

bool retrieval_index::passes(const doc& d, const retrieval_filter& filter) {
  const auto& msg = d.msg;
  if (!filter.roles.empty()
      && std::find(filter.roles.begin(), filter.roles.end(), msg.role)
           == filter.roles.end())
    return false;
  auto created = msg.details.created_at;
  if (created <= filter.created_after || created >= filter.created_before)
    return false;
  for (const auto& wanted : filter.metadata)
    if (std::find(d.metadata.begin(), d.metadata.end(), wanted)
        == d.metadata.end())
      return false;
  return true;
}

corpus_stats retrieval_index::stats(const std::vector<std::string>& terms) const {
  corpus_stats stats{docs_.size(), total_length_, {}};
  for (const auto& term : terms) {
    auto it = postings_.find(term);
    stats.document_frequencies.push_back(it == postings_.end() ? 0
                                                               : it->second.size());
  }
  return stats;
}

search_candidates
retrieval_index::candidates(const std::string& session_id,
                            const std::vector<std::string>& terms,
                            const std::vector<float>& query_vector,
                            const corpus_stats& stats,
                            const retrieval_filter& filter,
                            std::size_t top_k) const {
  search_candidates out;
  auto count = static_cast<double>(stats.documents);
  auto average = std::max(1.0, static_cast<double>(stats.total_length)
                                 / std::max(1.0, count));
  std::unordered_map<std::size_t, double> scores;
  bool filtered = !is_empty(filter);
  for (std::size_t t = 0; t < terms.size(); ++t) {
    auto it = postings_.find(terms[t]);
    if (it == postings_.end() || t >= stats.document_frequencies.size())
      continue;
    auto df = static_cast<double>(stats.document_frequencies[t]);
    auto idf = std::log(1.0 + (count - df + 0.5) / (df + 0.5));
    for (const auto& p : it->second) {
      if (filtered && !passes(docs_[p.doc], filter))
        continue;
      auto tf = static_cast<double>(p.frequency);
      auto norm = bm25_k1 * (1 - bm25_b
                             + bm25_b * static_cast<double>(p.length) / average);
      scores[p.doc] += idf * tf * (bm25_k1 + 1) / (tf + norm);
    }
  }
  seq_scores lexical;
  lexical.reserve(scores.size());
  for (const auto& [index, score] : scores)
    lexical.emplace_back(docs_[index].msg.seq, score);
  out.lexical = best_of(lexical, candidate_depth(top_k, !query_vector.empty()),
                        session_id);
  if (query_vector.empty())
    return out;
  auto q = query_vector;
  normalise(q);
  seq_scores semantic;
  for (const auto& d : docs_) {
    if (d.vector.size() != q.size() || !passes(d, filter))
      continue; // not embedded (yet), by another model, or filtered out
    semantic.emplace_back(d.msg.seq, dot(d.vector.data(), q.data(), q.size()));
  }
  out.semantic = best_of(semantic, fusion_depth, session_id);
  return out;
}

std::vector<search_hit>
retrieval_index::search(const std::vector<std::string>& terms,
                        const std::vector<float>& query_vector,
                        std::size_t top_k,
                        const retrieval_filter& filter) const {
  auto ranked = fuse(candidates({}, terms, query_vector, stats(terms), filter,
                                top_k),
                     top_k, !query_vector.empty());
  std::vector<search_hit> hits;
  for (const auto& r : ranked)
    hits.push_back({r.seq, r.score});
  return hits;
}

std::size_t candidate_depth(std::size_t top_k, bool hybrid) {
  return hybrid ? fusion_depth : std::min(top_k, fusion_depth);
}

void add_stats(corpus_stats& total, const corpus_stats& part) {
  total.documents += part.documents;
  total.total_length += part.total_length;
  auto& frequencies = total.document_frequencies;
  if (frequencies.size() < part.document_frequencies.size())
    frequencies.resize(part.document_frequencies.size());
  for (std::size_t i = 0; i < part.document_frequencies.size(); ++i)
    frequencies[i] += part.document_frequencies[i];
}

void merge_candidates(search_candidates& into, search_candidates part) {
  // Trimmed only once twice the depth has piled up: a merge per part would
  // sort the best again for each of thousands of sessions.
  auto merge = [](std::vector<ranked_message>& a,
                  std::vector<ranked_message>& b) {
    a.insert(a.end(), std::make_move_iterator(b.begin()),
             std::make_move_iterator(b.end()));
    if (a.size() > 2 * fusion_depth)
      keep_best(a, fusion_depth);
  };
  merge(into.lexical, part.lexical);
  merge(into.semantic, part.semantic);
}

void merge_hits(std::vector<retrieval_hit>& into,
                std::vector<retrieval_hit> part) {
  into.insert(into.end(), std::make_move_iterator(part.begin()),
              std::make_move_iterator(part.end()));
}

std::vector<ranked_message> fuse(search_candidates candidates,
                                 std::size_t top_k, bool hybrid) {
  keep_best(candidates.lexical, fusion_depth);
  keep_best(candidates.semantic, fusion_depth);
  std::vector<ranked_message> ranked;
  if (!hybrid) {
    for (std::size_t i = 0; i < candidates.lexical.size() && i < top_k; ++i) {
      ranked.push_back(candidates.lexical[i]);
      ranked.back().score = 1.0 / (1.0 + ranked.back().score);
    }
    return ranked;
  }
  std::map<std::pair<std::string, uint64_t>, double> fused;
  for (const auto* list : {&candidates.lexical, &candidates.semantic})
    for (std::size_t rank = 0; rank < list->size() && rank < fusion_depth;
         ++rank) {
      const auto& r = (*list)[rank];
      fused[{r.session_id, r.seq}] += 1.0 / (rrf_k + rank + 1);
    }
  for (const auto& [key, score] : fused)
    ranked.push_back({key.first, key.second, score});
  keep_best(ranked, top_k);
  auto best = 2.0 / (rrf_k + 1);
  for (auto& r : ranked)
    r.score = 1.0 - r.score / best;
  return ranked;
}

std::string pack_vector(const std::vector<float>& values) {
  static_assert(sizeof(float) == 4, "float32 expected");
  std::string bytes(values.size() * 4, '\0');
  if (!values.empty()) // memcpy wants valid pointers, even for no bytes
    std::memcpy(bytes.data(), values.data(), bytes.size()); // little-endian
  return bytes;
}

std::vector<float> unpack_vector(const std::string& bytes) {
  if (bytes.size() % 4 != 0)
    throw std::invalid_argument("a packed vector's size is a multiple of 4");
  std::vector<float> values(bytes.size() / 4);
  if (!values.empty())
    std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

} // namespace motorhead
