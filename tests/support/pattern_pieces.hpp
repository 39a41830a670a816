// The pieces an encoding's pattern splits text into, two ways: by PCRE2,
// compiled with the tokenizer's options, and by the ASCII splitter. For
// the tests that compare them.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/ascii_pieces.hpp"
#include "core/rapidjson.hpp"

namespace motorhead::testing {

/// The pat_str of `<directory>/<encoding>.json`.
inline std::string pattern_of(const std::string& directory,
                              const std::string& encoding) {
  std::ifstream in{directory + "/" + encoding + ".json"};
  std::stringstream content;
  content << in.rdbuf();
  rapidjson::Document doc;
  doc.Parse(content.str().c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("pat_str"))
    throw std::runtime_error("no pat_str in " + encoding);
  return doc["pat_str"].GetString();
}

/// The pieces PCRE2 splits `text` into, with the tokenizer's options.
class regex_splitter {
public:
  explicit regex_splitter(const std::string& pattern) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                          PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error,
                          &offset, nullptr);
    if (code_ == nullptr)
      throw std::runtime_error("PCRE2 cannot compile the pattern");
    match_ = pcre2_match_data_create(1, nullptr);
  }
  ~regex_splitter() {
    pcre2_match_data_free(match_);
    pcre2_code_free(code_);
  }
  regex_splitter(const regex_splitter&) = delete;
  regex_splitter& operator=(const regex_splitter&) = delete;

  std::vector<std::string> pieces(const std::string& text) const {
    std::vector<std::string> out;
    PCRE2_SIZE at = 0;
    while (at < text.size()) {
      if (pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(),
                      at, 0, match_, nullptr)
          < 0)
        break;
      auto* range = pcre2_get_ovector_pointer(match_);
      out.push_back(text.substr(range[0], range[1] - range[0]));
      at = range[1];
    }
    return out;
  }

private:
  pcre2_code* code_ = nullptr;
  pcre2_match_data* match_ = nullptr;
};

inline std::vector<std::string> ascii_pieces(ascii_piece_end end_of, const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < text.size();) {
    auto end = end_of(text, at);
    out.push_back(text.substr(at, end - at));
    at = end;
  }
  return out;
}

} // namespace motorhead::testing
