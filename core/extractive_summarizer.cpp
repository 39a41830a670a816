#include "core/extractive_summarizer.hpp"

#include "core/text.hpp"
#include "core/text_terms.hpp"
#include "core/utf8.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string_view>
#include <unordered_map>

namespace motorhead {

namespace {

/// A sentence competing for a place in the summary. Its terms are numbers
/// given in the order of the terms' text (see number_terms_in_order), so
/// that the weights add up in the same order as they would by text.
struct candidate {
  std::string text;               // as it will appear in the summary
  std::vector<uint32_t> terms;    // distinct, in order
  std::size_t occurrences = 0;    // of terms, repeats included
  double score = 0;
};

/// The candidates of a fold with the terms they use: each term's text is
/// kept once, and a candidate holds numbers.
struct candidate_set {
  std::vector<candidate> candidates;
  std::unordered_map<std::string, uint32_t> numbers;
  std::vector<uint32_t> term_frequency; // by term: occurrences in all
};

/// Splits on sentence-ending punctuation followed by white space, and on
/// line breaks (list items in answers are sentences of their own).
std::vector<std::string> sentences_of(std::string_view text) {
  std::vector<std::string> sentences;
  std::size_t start = 0;
  auto flush = [&](std::size_t end) {
    if (auto sentence = trim(text.substr(start, end - start), " \t\r\n");
        !sentence.empty())
      sentences.emplace_back(sentence);
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      flush(i);
      start = i + 1;
      continue;
    }
    bool ends_sentence = (c == '.' || c == '!' || c == '?')
                         && (i + 1 == text.size() || text[i + 1] == ' ');
    if (ends_sentence) {
      flush(i + 1);
      start = i + 1;
    }
  }
  flush(text.size());
  return sentences;
}

/// Adds `sentence` when it has terms worth weighing; the speaker prefix is
/// shown in the summary but is not a term.
void add_candidate(candidate_set& set, const std::string& speaker,
                   const std::string& sentence) {
  candidate cand;
  term_reader reader{sentence};
  for (std::string term; reader.next(term);) {
    auto number = static_cast<uint32_t>(set.numbers.size());
    auto known = set.numbers.try_emplace(term, number).first;
    cand.terms.push_back(known->second);
    if (known->second == set.term_frequency.size())
      set.term_frequency.push_back(0);
    ++set.term_frequency[known->second];
  }
  if (cand.terms.empty())
    return; // "ok", "thanks!": nothing worth remembering
  cand.occurrences = cand.terms.size();
  cand.text = speaker.empty() ? sentence : speaker + ": " + sentence;
  set.candidates.push_back(std::move(cand));
}

/// Renumbers the terms in the order of their text, and leaves each
/// candidate's terms distinct and in that order.
void number_terms_in_order(candidate_set& set) {
  std::vector<const std::string*> by_text(set.numbers.size());
  for (const auto& [text, number] : set.numbers)
    by_text[number] = &text;
  std::vector<uint32_t> order(by_text.size());
  std::iota(order.begin(), order.end(), uint32_t{0});
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return *by_text[a] < *by_text[b];
  });
  std::vector<uint32_t> renumbered(order.size());
  std::vector<uint32_t> frequency(order.size());
  for (uint32_t rank = 0; rank < order.size(); ++rank) {
    renumbered[order[rank]] = rank;
    frequency[rank] = set.term_frequency[order[rank]];
  }
  set.term_frequency = std::move(frequency);
  for (auto& cand : set.candidates) {
    for (auto& term : cand.terms)
      term = renumbered[term];
    std::sort(cand.terms.begin(), cand.terms.end());
    cand.terms.erase(std::unique(cand.terms.begin(), cand.terms.end()),
                     cand.terms.end());
  }
}

candidate_set collect_candidates(const std::optional<std::string>& previous,
                                 const std::vector<stored_message>& lines) {
  candidate_set set;
  if (previous)
    for (const auto& sentence : sentences_of(*previous))
      add_candidate(set, {}, sentence);
  for (const auto& line : lines)
    for (const auto& sentence : sentences_of(line.content))
      add_candidate(set, line.role, sentence);
  number_terms_in_order(set);
  return set;
}

/// TF-IDF over the candidate set, divided by the square root of the
/// sentence's length so that long sentences do not win by size alone.
void score_candidates(candidate_set& set) {
  std::vector<uint32_t> document_frequency(set.term_frequency.size());
  for (const auto& cand : set.candidates)
    for (auto term : cand.terms)
      ++document_frequency[term];
  auto count = static_cast<double>(set.candidates.size());
  for (auto& cand : set.candidates) {
    double weight = 0;
    for (auto term : cand.terms) {
      double idf = std::log(1.0 + count / document_frequency[term]);
      weight += std::log(1.0 + set.term_frequency[term]) * idf;
    }
    cand.score = weight / std::sqrt(static_cast<double>(cand.occurrences));
  }
}

double overlap(const candidate& a, const candidate& b) {
  std::size_t shared = 0;
  auto x = a.terms.begin();
  auto y = b.terms.begin();
  while (x != a.terms.end() && y != b.terms.end()) {
    if (*x < *y) {
      ++x;
    } else if (*y < *x) {
      ++y;
    } else {
      ++shared, ++x, ++y;
    }
  }
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
  auto set = collect_candidates(previous, lines);
  const auto& candidates = set.candidates;
  if (candidates.empty())
    return previous.value_or("");
  score_candidates(set);
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
