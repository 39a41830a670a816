#include "core/extractive_summarizer.hpp"

#include "core/rank_table.hpp"
#include "core/text.hpp"
#include "core/text_terms.hpp"
#include "core/utf8.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string_view>

namespace motorhead {

namespace {

/// A sentence competing for a place in the summary, with its terms: a range
/// of the set's list of term numbers, given in the order of the terms' text
/// (see number_terms_in_order), so that the weights add up in the same
/// order as they would by text.
struct candidate {
  std::string_view speaker;   // shown before the sentence, unless empty
  std::string_view sentence;  // a view of the summary or message it is in
  uint32_t terms_begin = 0;   // distinct and in order once numbered
  uint32_t terms_end = 0;
  std::size_t occurrences = 0; // of terms, repeats included
  double score = 0;

  /// Its length as it will appear in the summary.
  std::size_t size() const {
    return speaker.empty() ? sentence.size()
                           : speaker.size() + 2 + sentence.size();
  }

  void append_to(std::string& summary) const {
    if (!speaker.empty())
      summary.append(speaker).append(": ");
    summary.append(sentence);
  }
};

/// The candidates of a fold with the terms they use. Each term's text is
/// kept once, numbered in the order first seen, and the candidates' terms
/// are numbers in one list: a fold allocates per structure, not per term
/// or sentence.
struct candidate_set {
  std::vector<candidate> candidates;
  std::vector<uint32_t> terms;          // the candidates' ranges, in order
  rank_table numbers;                   // a term's text to its number
  std::string term_bytes;               // each term's text once, in order
  std::vector<uint32_t> term_ends;      // by number: its end in term_bytes
  std::vector<uint32_t> term_frequency; // by number: occurrences in all
  std::string term;                     // the term being read

  std::string_view text_of(uint32_t number) const {
    auto begin = number == 0 ? 0 : term_ends[number - 1];
    return std::string_view{term_bytes}.substr(begin,
                                               term_ends[number] - begin);
  }
};

/// Splits on sentence-ending punctuation followed by white space, and on
/// line breaks (list items in answers are sentences of their own).
std::vector<std::string_view> sentences_of(std::string_view text) {
  std::vector<std::string_view> sentences;
  std::size_t start = 0;
  auto flush = [&](std::size_t end) {
    if (auto sentence = trim(text.substr(start, end - start), " \t\r\n");
        !sentence.empty())
      sentences.push_back(sentence);
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
void add_candidate(candidate_set& set, std::string_view speaker,
                   std::string_view sentence) {
  auto first = static_cast<uint32_t>(set.terms.size());
  term_reader reader{sentence};
  while (reader.next(set.term)) {
    auto fresh = static_cast<uint32_t>(set.term_ends.size());
    auto number = set.numbers.insert(set.term, fresh);
    if (number == fresh) {
      set.term_bytes += set.term;
      set.term_ends.push_back(static_cast<uint32_t>(set.term_bytes.size()));
      set.term_frequency.push_back(0);
    }
    ++set.term_frequency[number];
    set.terms.push_back(number);
  }
  auto last = static_cast<uint32_t>(set.terms.size());
  if (first == last)
    return; // "ok", "thanks!": nothing worth remembering
  set.candidates.push_back({speaker, sentence, first, last, last - first});
}

/// Renumbers the terms in the order of their text, and leaves each
/// candidate's terms distinct and in that order.
void number_terms_in_order(candidate_set& set) {
  std::vector<uint32_t> order(set.term_ends.size());
  std::iota(order.begin(), order.end(), uint32_t{0});
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return set.text_of(a) < set.text_of(b);
  });
  std::vector<uint32_t> renumbered(order.size());
  std::vector<uint32_t> frequency(order.size());
  for (uint32_t rank = 0; rank < order.size(); ++rank) {
    renumbered[order[rank]] = rank;
    frequency[rank] = set.term_frequency[order[rank]];
  }
  set.term_frequency = std::move(frequency);
  // Each range shrinks to its distinct terms and moves down to where the
  // one before it ended.
  auto terms = set.terms.begin();
  uint32_t kept = 0;
  for (auto& cand : set.candidates) {
    auto begin = terms + cand.terms_begin;
    auto end = terms + cand.terms_end;
    for (auto term = begin; term != end; ++term)
      *term = renumbered[*term];
    std::sort(begin, end);
    end = std::unique(begin, end);
    auto distinct = static_cast<uint32_t>(end - begin);
    if (kept != cand.terms_begin)
      std::move(begin, end, terms + kept);
    cand.terms_begin = kept;
    kept += distinct;
    cand.terms_end = kept;
  }
  set.terms.resize(kept);
}

candidate_set collect_candidates(const std::optional<std::string>& previous,
                                 const std::vector<stored_message>& lines) {
  candidate_set set;
  if (previous)
    for (auto sentence : sentences_of(*previous))
      add_candidate(set, {}, sentence);
  for (const auto& line : lines)
    for (auto sentence : sentences_of(line.content))
      add_candidate(set, line.role, sentence);
  number_terms_in_order(set);
  return set;
}

/// TF-IDF over the candidate set, divided by the square root of the
/// sentence's length so that long sentences do not win by size alone.
void score_candidates(candidate_set& set) {
  std::vector<uint32_t> document_frequency(set.term_frequency.size());
  for (auto term : set.terms)
    ++document_frequency[term];
  auto count = static_cast<double>(set.candidates.size());
  for (auto& cand : set.candidates) {
    double weight = 0;
    for (auto i = cand.terms_begin; i != cand.terms_end; ++i) {
      auto term = set.terms[i];
      double idf = std::log(1.0 + count / document_frequency[term]);
      weight += std::log(1.0 + set.term_frequency[term]) * idf;
    }
    cand.score = weight / std::sqrt(static_cast<double>(cand.occurrences));
  }
}

/// The share of the terms of the one with fewer that both have.
double overlap(const std::vector<uint32_t>& terms, const candidate& a,
               const candidate& b) {
  std::size_t shared = 0;
  auto x = terms.begin() + a.terms_begin;
  auto x_end = terms.begin() + a.terms_end;
  auto y = terms.begin() + b.terms_begin;
  auto y_end = terms.begin() + b.terms_end;
  while (x != x_end && y != y_end) {
    if (*x < *y) {
      ++x;
    } else if (*y < *x) {
      ++y;
    } else {
      ++shared, ++x, ++y;
    }
  }
  auto smaller = std::min(a.terms_end - a.terms_begin,
                          b.terms_end - b.terms_begin);
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
    auto cost = cand.size() + (chosen.empty() ? 0 : 1);
    if (used + cost > options.max_chars)
      continue;
    auto redundant = std::any_of(chosen.begin(), chosen.end(),
                                 [&](std::size_t other) {
                                   return overlap(set.terms, cand,
                                                  candidates[other])
                                          > options.redundancy_threshold;
                                 });
    if (redundant)
      continue;
    chosen.push_back(index);
    used += cost;
  }
  std::string summary;
  if (chosen.empty()) {
    candidates[by_score.front()].append_to(summary);
    return shorten(summary, options.max_chars);
  }
  std::sort(chosen.begin(), chosen.end());
  for (auto index : chosen) {
    if (!summary.empty())
      summary.push_back(' ');
    candidates[index].append_to(summary);
  }
  return summary;
}

} // namespace motorhead
