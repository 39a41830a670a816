// The built-in summarizer: used when no model provider is configured.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/memory_types.hpp"

namespace motorhead {

struct extractive_options {
  /// Upper bound on the length of the summary, in bytes.
  std::size_t max_chars = 1200;
  /// Two sentences sharing more than this fraction of their terms are
  /// redundant; only the better one is kept.
  double redundancy_threshold = 0.6;
};

/// Folds `lines` into `previous` and returns the new summary.
///
/// Extractive and progressive: the sentences of the previous summary and of
/// the new lines compete on TF-IDF term weight (normalised for length, so a
/// long ramble does not win by size alone), redundant sentences are skipped,
/// and the best ones that fit the budget are kept in their original order.
/// Sentences from new lines keep their speaker ("Human: ...").
std::string summarize_extractive(const std::optional<std::string>& previous,
                                 const std::vector<stored_message>& lines,
                                 const extractive_options& options = {});

} // namespace motorhead
