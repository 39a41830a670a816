#include "core/retrieval_index.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <stdexcept>

#include "core/text_terms.hpp"

namespace motorhead {

namespace {

constexpr double bm25_k1 = 1.2;
constexpr double bm25_b = 0.75;
/// Reciprocal rank fusion's constant: 1 / (k + rank), as in Cormack et al.
constexpr double rrf_k = 60;
/// How deep each ranking goes into the fusion; also the largest top_k.
constexpr std::size_t fusion_depth = 100;

/// Keeps the best `depth` entries, best first (ties: the newer message).
void keep_best(std::vector<std::pair<std::size_t, double>>& ranked,
               std::size_t depth) {
  auto better = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first > b.first;
  };
  depth = std::min(depth, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + depth, ranked.end(), better);
  ranked.resize(depth);
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
    postings_[term].push_back({index, frequency});
  docs_.push_back({msg, length, {}});
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

retrieval_index::ranking retrieval_index::bm25(const std::string& query) const {
  ranking ranked;
  if (docs_.empty())
    return ranked;
  auto count = static_cast<double>(docs_.size());
  auto average = std::max(1.0, static_cast<double>(total_length_) / count);
  std::unordered_map<std::size_t, double> scores;
  auto terms = content_terms(query);
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  for (const auto& term : terms) {
    auto it = postings_.find(term);
    if (it == postings_.end())
      continue;
    auto df = static_cast<double>(it->second.size());
    auto idf = std::log(1.0 + (count - df + 0.5) / (df + 0.5));
    for (const auto& p : it->second) {
      auto tf = static_cast<double>(p.frequency);
      auto norm = bm25_k1 * (1 - bm25_b
                             + bm25_b * static_cast<double>(docs_[p.doc].length)
                                 / average);
      scores[p.doc] += idf * tf * (bm25_k1 + 1) / (tf + norm);
    }
  }
  ranked.assign(scores.begin(), scores.end());
  keep_best(ranked, fusion_depth);
  return ranked;
}

retrieval_index::ranking
retrieval_index::cosine(const std::vector<float>& query) const {
  auto q = query;
  normalise(q);
  ranking ranked;
  for (std::size_t i = 0; i < docs_.size(); ++i) {
    const auto& v = docs_[i].vector;
    if (v.size() != q.size())
      continue; // not embedded (yet), or by another model
    ranked.emplace_back(i, dot(v.data(), q.data(), q.size()));
  }
  keep_best(ranked, fusion_depth);
  return ranked;
}

std::vector<search_hit>
retrieval_index::search(const std::string& query,
                        const std::vector<float>& query_vector,
                        std::size_t top_k) const {
  std::vector<search_hit> hits;
  auto lexical = bm25(query);
  if (query_vector.empty()) {
    // BM25 alone: dist = 1 / (1 + score), in (0, 1].
    for (std::size_t i = 0; i < lexical.size() && i < top_k; ++i)
      hits.push_back({docs_[lexical[i].first].msg.seq,
                      1.0 / (1.0 + lexical[i].second)});
    return hits;
  }
  // Reciprocal rank fusion; dist = 1 - fused / best possible, in [0, 1).
  std::unordered_map<std::size_t, double> fused;
  auto semantic = cosine(query_vector);
  for (const auto* ranked : {&lexical, &semantic})
    for (std::size_t rank = 0; rank < ranked->size() && rank < fusion_depth;
         ++rank)
      fused[(*ranked)[rank].first] += 1.0 / (rrf_k + rank + 1);
  ranking combined(fused.begin(), fused.end());
  keep_best(combined, top_k);
  auto best = 2.0 / (rrf_k + 1);
  for (std::size_t i = 0; i < combined.size() && i < top_k; ++i)
    hits.push_back({docs_[combined[i].first].msg.seq,
                    1.0 - combined[i].second / best});
  return hits;
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
