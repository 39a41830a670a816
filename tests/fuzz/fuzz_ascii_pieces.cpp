// The ASCII splitters split any ASCII text as PCRE2 splits it with the
// encodings' own patterns. The input's bytes are folded into ASCII.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_check.hpp"
#include "tests/support/pattern_pieces.hpp"

using namespace motorhead;

namespace {

struct encoding_splitters {
  explicit encoding_splitters(const char* encoding)
    : pattern{testing::pattern_of(MOTORHEAD_TOKENIZER_DIR, encoding)},
      ascii{ascii_splitter_for(pattern)}, regex{pattern} {
    fuzz::check(ascii != nullptr, "the encoding's pattern has an ASCII splitter");
  }
  std::string pattern;
  ascii_piece_end ascii;
  testing::regex_splitter regex;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static encoding_splitters encodings[] = {encoding_splitters{"cl100k_base"},
                                           encoding_splitters{"o200k_base"},
                                           encoding_splitters{"p50k_base"}};
  std::string text(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    text[i] = static_cast<char>(data[i] & 0x7f);
  for (const auto& encoding : encodings)
    fuzz::check(testing::ascii_pieces(encoding.ascii, text) == encoding.regex.pieces(text),
                "ASCII pieces equal PCRE2's");
  return 0;
}
