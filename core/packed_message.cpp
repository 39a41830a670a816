#include "core/packed_message.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "core/random_id.hpp"
#include "core/text.hpp"

namespace motorhead {

namespace {

constexpr std::string_view hex_digits = "0123456789abcdef";
constexpr std::size_t uuid_text_size = 36;
constexpr std::size_t uuid_bytes = 16;

/// Whether `id` is a UUID written as random_uuid writes them (lower case,
/// hyphens at 8, 13, 18 and 23), which write_uuid_text gives back exactly.
bool is_lowercase_uuid(std::string_view id) {
  if (id.size() != uuid_text_size)
    return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool fits = is_uuid_hyphen_position(i)
                  ? c == '-'
                  : (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!fits)
      return false;
  }
  return true;
}

char* append_uuid_bytes(char* out, std::string_view id) {
  int high = -1;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (is_uuid_hyphen_position(i))
      continue;
    auto nibble = hex_digit_value(id[i]);
    if (high < 0) {
      high = nibble;
      continue;
    }
    *out++ = static_cast<char>(high << 4 | nibble);
    high = -1;
  }
  return out;
}

/// Each byte's two lower-case hex digits.
constexpr std::array<char, 512> hex_pairs = [] {
  std::array<char, 512> pairs{};
  for (std::size_t byte = 0; byte < 256; ++byte) {
    pairs[2 * byte] = hex_digits[byte >> 4];
    pairs[2 * byte + 1] = hex_digits[byte & 0xf];
  }
  return pairs;
}();

/// Writes the UUID text of 16 bytes into `text` (36 characters): groups of
/// 4, 2, 2, 2 and 6 bytes, with a hyphen between them. Every answer writes
/// one for each message, so no position is tested for a hyphen.
void write_uuid_text(const char* bytes, char* text) {
  constexpr std::size_t group_ends[] = {4, 6, 8, 10, uuid_bytes};
  std::size_t byte = 0;
  for (auto end : group_ends) {
    for (; byte < end; ++byte, text += 2)
      std::memcpy(text, &hex_pairs[2 * static_cast<unsigned char>(bytes[byte])], 2);
    if (end != uuid_bytes)
      *text++ = '-';
  }
}

char* append(char* out, std::string_view part) {
  return std::copy(part.begin(), part.end(), out);
}

} // namespace

packed_message::packed_message(const stored_message& msg)
  : seq_(msg.seq),
    created_at_(msg.details.created_at),
    token_count_(msg.details.token_count),
    role_size_(static_cast<uint32_t>(msg.role.size())),
    content_size_(static_cast<uint32_t>(msg.content.size())),
    id_size_(static_cast<uint32_t>(msg.details.id.size())),
    metadata_size_(static_cast<uint32_t>(msg.details.metadata.size())),
    binary_uuid_(is_lowercase_uuid(msg.details.id)) {
  if (binary_uuid_)
    id_size_ = uuid_bytes;
  text_.reset(new char[text_size()]);
  auto* out = append(text_.get(), msg.role);
  out = append(out, msg.content);
  out = binary_uuid_ ? append_uuid_bytes(out, msg.details.id)
                     : append(out, msg.details.id);
  append(out, msg.details.metadata);
}

std::string packed_message::id() const {
  id_buffer buffer;
  return std::string{id(buffer)};
}

std::string_view packed_message::id(id_buffer& buffer) const {
  const char* stored = text_.get() + role_size_ + content_size_;
  if (!binary_uuid_)
    return {stored, id_size_};
  static_assert(std::tuple_size_v<id_buffer> == uuid_text_size);
  write_uuid_text(stored, buffer.data());
  return {buffer.data(), buffer.size()};
}

packed_message::packed_message(const packed_message& other)
  : seq_(other.seq_),
    created_at_(other.created_at_),
    token_count_(other.token_count_),
    role_size_(other.role_size_),
    content_size_(other.content_size_),
    id_size_(other.id_size_),
    metadata_size_(other.metadata_size_),
    binary_uuid_(other.binary_uuid_),
    text_(new char[other.text_size()]) {
  std::memcpy(text_.get(), other.text_.get(), text_size());
}

packed_message& packed_message::operator=(const packed_message& other) {
  if (this != &other)
    *this = packed_message{other};
  return *this;
}

message_details packed_message::details() const {
  return {id(), created_at_, std::string{metadata()}, token_count_};
}

stored_message packed_message::unpack() const {
  return {seq_, std::string{role()}, std::string{content()}, details()};
}

} // namespace motorhead
