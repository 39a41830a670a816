// The codec's JSON writer, RapidJSON's writing strings by runs of plain
// bytes, and the writing helpers its encoders share. Private to the codec
// (core/json_*.cpp): its users include core/json_codec.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/memory_types.hpp"
#include "core/rapidjson.hpp"
#include "core/timestamp.hpp"

namespace motorhead::json {

/// RapidJSON's writer, writing strings faster: the runs of bytes that need
/// no escape (the whole of nearly every key, id, time and message) are
/// copied in one piece, where RapidJSON 1.1.0 copies each byte after
/// reserving room for six times the string. The escapes are RapidJSON's:
/// \" \\ \b \f \n \r \t, and \u00XX for the other control characters;
/// every other byte is copied as it is.
class json_writer : public rapidjson::Writer<rapidjson::StringBuffer> {
public:
  using Writer::Writer;

  bool String(const Ch* text, rapidjson::SizeType length, bool = false) {
    Prefix(rapidjson::kStringType);
    write_quoted(text, length);
    return EndValue(true);
  }
  bool String(const Ch* text) { return String(text, length_of(text)); }
  bool Key(const Ch* text, rapidjson::SizeType length, bool = false) {
    return String(text, length);
  }
  /// A key of the codec's own: a literal that needs no escape (letters,
  /// digits, underscores), copied as it is.
  template <std::size_t N>
  bool Key(const Ch (&name)[N]) {
    return unescaped_string({name, N - 1});
  }
  /// A string that holds no byte JSON escapes (a time the server wrote),
  /// copied as it is.
  bool unescaped_string(std::string_view text) {
    Prefix(rapidjson::kStringType);
    auto* out = os_->Push(text.size() + 2);
    out[0] = '"';
    std::memcpy(out + 1, text.data(), text.size());
    out[text.size() + 1] = '"';
    return EndValue(true);
  }

private:
  static rapidjson::SizeType length_of(const Ch* text) {
    return static_cast<rapidjson::SizeType>(std::strlen(text));
  }

  static bool needs_escape(char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == '"' || byte == '\\';
  }

  /// Where the run of bytes from `text` that need no escape ends. Eight
  /// bytes at a time: a byte below 0x20, or equal to '"' or '\\', sets
  /// the high bit of some lane of the word (the "SWAR" tests of
  /// Bit Twiddling Hacks, exact on whether any lane matches).
  static const char* end_of_plain_run(const char* text, const char* end) {
    constexpr uint64_t ones = 0x0101010101010101;
    constexpr uint64_t highs = ones * 0x80;
    auto has_zero_byte = [](uint64_t word) {
      return (word - ones) & ~word & highs;
    };
    for (; end - text >= 8; text += 8) {
      uint64_t word;
      std::memcpy(&word, text, sizeof word);
      if (((word - ones * 0x20) & ~word & highs)
          | has_zero_byte(word ^ (ones * '"'))
          | has_zero_byte(word ^ (ones * '\\')))
        break;
    }
    while (text != end && !needs_escape(*text))
      ++text;
    return text;
  }

  void write_quoted(const char* text, std::size_t length) {
    os_->Put('"');
    const char* end = text + length;
    while (text != end) {
      const char* run = text;
      text = end_of_plain_run(text, end);
      if (text != run)
        std::memcpy(os_->Push(static_cast<std::size_t>(text - run)), run,
                    static_cast<std::size_t>(text - run));
      if (text != end)
        write_escape(static_cast<unsigned char>(*text++));
    }
    os_->Put('"');
  }

  void write_escape(unsigned char byte) {
    char shorthand = 0;
    switch (byte) {
      case '"': shorthand = '"'; break;
      case '\\': shorthand = '\\'; break;
      case '\b': shorthand = 'b'; break;
      case '\f': shorthand = 'f'; break;
      case '\n': shorthand = 'n'; break;
      case '\r': shorthand = 'r'; break;
      case '\t': shorthand = 't'; break;
      default: break;
    }
    if (shorthand != 0) {
      auto* out = os_->Push(2);
      out[0] = '\\';
      out[1] = shorthand;
      return;
    }
    static constexpr char hex_digits[] = "0123456789ABCDEF";
    auto* out = os_->Push(6);
    std::memcpy(out, "\\u00", 4);
    out[4] = hex_digits[byte >> 4];
    out[5] = hex_digits[byte & 0xF];
  }
};

/// Writes `text` as a JSON string.
inline void write_string(json_writer& out, std::string_view text) {
  out.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

/// Writes `unix_ms` as an RFC 3339 string.
inline void write_time(json_writer& out, int64_t unix_ms) {
  rfc3339_buffer buffer;
  out.unescaped_string(rfc3339_text(unix_ms, buffer));
}

/// Writes `items` as a JSON array of strings.
inline void write_string_array(json_writer& out,
                               const std::vector<std::string>& items) {
  out.StartArray();
  for (const auto& item : items)
    write_string(out, item);
  out.EndArray();
}

/// The JSON text that `fn` writes into a json_writer.
template <class Fn>
std::string write_json(Fn&& fn) {
  rapidjson::StringBuffer buffer;
  json_writer out{buffer};
  fn(out);
  return {buffer.GetString(), buffer.GetSize()};
}

/// `value` as compact JSON text.
inline std::string compact(const rapidjson::Value& value) {
  return write_json([&](json_writer& out) { value.Accept(out); });
}

/// The members of a message's details, inside an object the caller
/// opened; `created_at` as `write_time` writes it. A message stored before
/// messages had ids has no details, and gets none.
template <class WriteTime>
void write_details(json_writer& out, std::string_view id, int64_t created_at,
                   std::string_view metadata, uint32_t token_count,
                   WriteTime write_time) {
  if (id.empty())
    return;
  out.Key("id");
  write_string(out, id);
  out.Key("created_at");
  write_time(created_at);
  if (!metadata.empty()) {
    out.Key("metadata");
    out.RawValue(metadata.data(), metadata.size(), rapidjson::kObjectType);
  }
  out.Key("token_count");
  out.Uint(token_count);
}

template <class WriteTime>
void write_details(json_writer& out, const message_details& details,
                   WriteTime write_time) {
  write_details(out, details.id, details.created_at, details.metadata,
                details.token_count, write_time);
}

} // namespace motorhead::json
