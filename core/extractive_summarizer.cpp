#include "core/extractive_summarizer.hpp"

#include "core/text_terms.hpp"
#include "core/utf8.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <set>
#include <unordered_map>

namespace motorhead {

namespace {

/// A sentence competing for a place in the summary.
struct candidate {
  std::string text;          // as it will appear in the summary
  std::set<std::string> terms;
  std::vector<std::string> term_occurrences;
  double score = 0;
};

std::string trim(const std::string& text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    return {};
  auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

/// Splits on sentence-ending punctuation followed by white space, and on
/// line breaks (list items in answers are sentences of their own).
std::vector<std::string> sentences_of(const std::string& text) {
  std::vector<std::string> sentences;
  std::string current;
  auto flush = [&] {
    if (auto sentence = trim(current); !sentence.empty())
      sentences.push_back(std::move(sentence));
    current.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      flush();
      continue;
    }
    current.push_back(c);
    bool ends_sentence = (c == '.' || c == '!' || c == '?')
                         && (i + 1 == text.size() || text[i + 1] == ' ');
    if (ends_sentence)
      flush();
  }
  flush();
  return sentences;
}

/// Adds `sentence` when it has terms worth weighing; the speaker prefix is
/// shown in the summary but is not a term.
void add_candidate(std::vector<candidate>& out, const std::string& speaker,
                   const std::string& sentence) {
  candidate cand;
  for (auto& term : content_terms(sentence)) {
    cand.terms.insert(term);
    cand.term_occurrences.push_back(std::move(term));
  }
  if (cand.terms.empty())
    return; // "ok", "thanks!": nothing worth remembering
  cand.text = speaker.empty() ? sentence : speaker + ": " + sentence;
  out.push_back(std::move(cand));
}

std::vector<candidate> collect_candidates(
  const std::optional<std::string>& previous,
  const std::vector<stored_message>& lines) {
  std::vector<candidate> result;
  if (previous)
    for (const auto& sentence : sentences_of(*previous))
      add_candidate(result, {}, sentence);
  for (const auto& line : lines)
    for (const auto& sentence : sentences_of(line.content))
      add_candidate(result, line.role, sentence);
  return result;
}

/// TF-IDF over the candidate set, divided by the square root of the
/// sentence's length so that long sentences do not win by size alone.
void score_candidates(std::vector<candidate>& candidates) {
  std::unordered_map<std::string, double> term_frequency;
  std::unordered_map<std::string, double> document_frequency;
  for (const auto& cand : candidates) {
    for (const auto& term : cand.term_occurrences)
      term_frequency[term] += 1;
    for (const auto& term : cand.terms)
      document_frequency[term] += 1;
  }
  auto count = static_cast<double>(candidates.size());
  for (auto& cand : candidates) {
    double weight = 0;
    for (const auto& term : cand.terms) {
      double idf = std::log(1.0 + count / document_frequency[term]);
      weight += std::log(1.0 + term_frequency[term]) * idf;
    }
    cand.score = weight / std::sqrt(static_cast<double>(
                   cand.term_occurrences.size()));
  }
}

double overlap(const candidate& a, const candidate& b) {
  std::size_t shared = 0;
  for (const auto& term : a.terms)
    shared += b.terms.count(term);
  auto smaller = std::min(a.terms.size(), b.terms.size());
  return static_cast<double>(shared) / static_cast<double>(smaller);
}

/// Cuts `text` at the last word boundary that keeps it within `limit`.
std::string shorten(const std::string& text, std::size_t limit) {
  static const std::string ellipsis = "...";
  if (text.size() <= limit)
    return text;
  if (limit <= ellipsis.size())
    return text.substr(0, utf8_boundary_at_or_before(text, limit));
  auto cut = text.rfind(' ', limit - ellipsis.size());
  if (cut == std::string::npos || cut == 0)
    cut = utf8_boundary_at_or_before(text, limit - ellipsis.size());
  return text.substr(0, cut) + ellipsis;
}

} // namespace

std::string summarize_extractive(const std::optional<std::string>& previous,
                                 const std::vector<stored_message>& lines,
                                 const extractive_options& options) {
  auto candidates = collect_candidates(previous, lines);
  if (candidates.empty())
    return previous.value_or("");
  score_candidates(candidates);
  std::vector<std::size_t> by_score(candidates.size());
  std::iota(by_score.begin(), by_score.end(), std::size_t{0});
  std::stable_sort(by_score.begin(), by_score.end(),
                   [&](std::size_t a, std::size_t b) {
                     return candidates[a].score > candidates[b].score;
                   });
  std::vector<std::size_t> chosen;
  std::size_t used = 0;
  for (auto index : by_score) {
    const auto& cand = candidates[index];
    auto cost = cand.text.size() + (chosen.empty() ? 0 : 1);
    if (used + cost > options.max_chars)
      continue;
    auto redundant = std::any_of(chosen.begin(), chosen.end(),
                                 [&](std::size_t other) {
                                   return overlap(cand, candidates[other])
                                          > options.redundancy_threshold;
                                 });
    if (redundant)
      continue;
    chosen.push_back(index);
    used += cost;
  }
  if (chosen.empty())
    return shorten(candidates[by_score.front()].text, options.max_chars);
  std::sort(chosen.begin(), chosen.end());
  std::string summary;
  for (auto index : chosen) {
    if (!summary.empty())
      summary.push_back(' ');
    summary += candidates[index].text;
  }
  return summary;
}

} // namespace motorhead
