#include "core/packed_message.hpp"

#include <algorithm>
#include <cstring>

namespace motorhead {

namespace {

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
    text_(new char[text_size()]) {
  auto* out = append(text_.get(), msg.role);
  out = append(out, msg.content);
  out = append(out, msg.details.id);
  append(out, msg.details.metadata);
}

packed_message::packed_message(const packed_message& other)
  : seq_(other.seq_),
    created_at_(other.created_at_),
    token_count_(other.token_count_),
    role_size_(other.role_size_),
    content_size_(other.content_size_),
    id_size_(other.id_size_),
    metadata_size_(other.metadata_size_),
    text_(new char[other.text_size()]) {
  std::memcpy(text_.get(), other.text_.get(), text_size());
}

packed_message& packed_message::operator=(const packed_message& other) {
  if (this != &other)
    *this = packed_message{other};
  return *this;
}

message_details packed_message::details() const {
  return {std::string{id()}, created_at_, std::string{metadata()},
          token_count_};
}

stored_message packed_message::unpack() const {
  return {seq_, std::string{role()}, std::string{content()}, details()};
}

chat_message packed_message::to_chat_message() const {
  return {std::string{role()}, std::string{content()}, details()};
}

} // namespace motorhead
