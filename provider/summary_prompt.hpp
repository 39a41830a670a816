// The progressive-summary prompt and the split of a fold into provider calls
// that fit the model's context.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/memory_types.hpp"
#include "core/outcome.hpp"
#include "core/tokenizer.hpp"

namespace motorhead {

class summary_prompt {
public:
  static constexpr const char* summary_placeholder = "{summary}";
  static constexpr const char* lines_placeholder = "{new_lines}";

  /// The original Motörhead's prompt.
  static summary_prompt standard();

  /// A template from a file; it must hold both placeholders.
  static outcome<summary_prompt> from_file(const std::string& path);
  static outcome<summary_prompt> from_text(std::string text);

  std::string render(const std::string& summary,
                     const std::string& new_lines) const;

private:
  explicit summary_prompt(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

/// The models' answer for lines that carry nothing worth summarizing.
bool is_none_answer(const std::string& answer);

struct prompt_budget {
  std::size_t context_tokens = 4096;   // what the model reads and writes
  uint32_t completion_tokens = 512;    // kept free for its answer
};

struct planned_call {
  std::string prompt;
  std::size_t lines_used = 0;
  std::size_t prompt_tokens = 0;
};

/// The next call of a fold: the summary plus as many of lines[first...] as
/// fit the budget, at least one (cut short if it alone does not fit).
planned_call plan_next_call(const bpe_tokenizer& tokenizer,
                            const summary_prompt& prompt,
                            const std::string& summary,
                            const std::vector<stored_message>& lines,
                            std::size_t first, const prompt_budget& budget);

} // namespace motorhead
