#include "provider/summary_prompt.hpp"

#include <fstream>
#include <sstream>

#include "core/utf8.hpp"

namespace motorhead {

namespace {

const char* standard_template =
  "Progressively summarize the lines of conversation provided, adding onto "
  "the previous summary returning a new summary. If the lines are meaningless "
  "just return NONE\n"
  "\n"
  "EXAMPLE\n"
  "Current summary:\n"
  "The human asks who is the lead singer of Motörhead. The AI responds Lemmy "
  "Kilmister.\n"
  "New lines of conversation:\n"
  "Human: What are the other members of Motörhead?\n"
  "AI: The original members included Lemmy Kilmister (vocals, bass), Larry "
  "Wallis (guitar), and Lucas Fox (drums), with notable members throughout "
  "the years including \"Fast\" Eddie Clarke (guitar), Phil \"Philthy "
  "Animal\" Taylor (drums), and Mikkey Dee (drums).\n"
  "New summary:\n"
  "The human asks who is the lead singer and other members of Motörhead. The "
  "AI responds Lemmy Kilmister is the lead singer and other original members "
  "include Larry Wallis, and Lucas Fox, with notable past members including "
  "\"Fast\" Eddie Clarke, Phil \"Philthy Animal\" Taylor, and Mikkey Dee.\n"
  "END OF EXAMPLE\n"
  "\n"
  "Current summary:\n"
  "{summary}\n"
  "New lines of conversation:\n"
  "{new_lines}\n"
  "New summary:\n";

std::string format_line(const stored_message& line) {
  return line.role + ": " + line.content + "\n";
}

/// Cuts a line that alone exceeds `max_tokens` at a proportional length.
std::string shorten_to_tokens(const bpe_tokenizer& tokenizer, std::string text,
                              std::size_t max_tokens) {
  for (auto tokens = tokenizer.count(text); tokens > max_tokens && !text.empty();
       tokens = tokenizer.count(text)) {
    auto keep = text.size() * max_tokens / tokens;
    keep = keep < text.size() ? keep : text.size() - 1;
    text.resize(utf8_boundary_at_or_before(text, keep));
  }
  return text;
}

} // namespace

summary_prompt summary_prompt::standard() {
  return summary_prompt{standard_template};
}

outcome<summary_prompt> summary_prompt::from_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return outcome<summary_prompt>::failure("cannot read prompt file " + path);
  std::stringstream content;
  content << in.rdbuf();
  return from_text(content.str());
}

outcome<summary_prompt> summary_prompt::from_text(std::string text) {
  if (text.find(summary_placeholder) == std::string::npos
      || text.find(lines_placeholder) == std::string::npos)
    return outcome<summary_prompt>::failure(
      std::string{"the prompt must contain "} + summary_placeholder + " and "
      + lines_placeholder);
  return {summary_prompt{std::move(text)}, {}};
}

std::string summary_prompt::render(const std::string& summary,
                                   const std::string& new_lines) const {
  // Both placeholders are replaced in one pass over the template, so that a
  // summary containing "{new_lines}" is not expanded again.
  std::string out;
  std::size_t pos = 0;
  while (pos < text_.size()) {
    auto s = text_.find(summary_placeholder, pos);
    auto l = text_.find(lines_placeholder, pos);
    auto next = std::min(s, l);
    if (next == std::string::npos) {
      out.append(text_, pos, std::string::npos);
      break;
    }
    out.append(text_, pos, next - pos);
    bool is_summary = next == s;
    out += is_summary ? summary : new_lines;
    pos = next + std::string{is_summary ? summary_placeholder : lines_placeholder}.size();
  }
  return out;
}

bool is_none_answer(const std::string& answer) {
  auto first = answer.find_first_not_of(" \t\r\n\"'.");
  auto last = answer.find_last_not_of(" \t\r\n\"'.");
  return first != std::string::npos
         && answer.compare(first, last - first + 1, "NONE") == 0;
}

planned_call plan_next_call(const bpe_tokenizer& tokenizer,
                            const summary_prompt& prompt,
                            const std::string& summary,
                            const std::vector<stored_message>& lines,
                            std::size_t first, const prompt_budget& budget) {
  auto limit = budget.context_tokens > budget.completion_tokens
                 ? budget.context_tokens - budget.completion_tokens
                 : std::size_t{1};
  auto base_tokens = tokenizer.count(prompt.render(summary, ""));
  auto room = limit > base_tokens ? limit - base_tokens : std::size_t{1};
  std::string text;
  std::size_t used = 0;
  std::size_t tokens = 0;
  for (auto i = first; i < lines.size(); ++i) {
    auto line = format_line(lines[i]);
    auto line_tokens = tokenizer.count(line);
    if (used > 0 && tokens + line_tokens > room)
      break;
    if (used == 0 && line_tokens > room) {
      line = shorten_to_tokens(tokenizer, std::move(line), room);
      line_tokens = tokenizer.count(line);
    }
    text += line;
    tokens += line_tokens;
    ++used;
  }
  auto rendered = prompt.render(summary, text);
  return {rendered, used, tokenizer.count(rendered)};
}

} // namespace motorhead
