// A stored message in one heap block: the form a session's window keeps.
// A stored_message holds four std::string (32 bytes each, and a heap block
// of its own for each over 15 bytes); every live session keeps a window of
// them, so their size is most of what a session costs beyond CAF's actor.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/memory_types.hpp"

namespace motorhead {

class packed_message {
public:
  packed_message() = default;
  explicit packed_message(const stored_message& msg);

  /// A moved-from message may only be assigned to or destroyed.
  packed_message(packed_message&&) noexcept = default;
  packed_message& operator=(packed_message&&) noexcept = default;
  packed_message(const packed_message& other);
  packed_message& operator=(const packed_message& other);

  /// Room for an id the message keeps as bytes, written out as text.
  using id_buffer = std::array<char, 36>;

  uint64_t seq() const { return seq_; }
  int64_t created_at() const { return created_at_; }
  uint32_t token_count() const { return token_count_; }
  std::string_view role() const { return {text_.get(), role_size_}; }
  std::string_view content() const {
    return {text_.get() + role_size_, content_size_};
  }
  std::string id() const;
  /// The id without a copy: a view of the message's block, or of `buffer`
  /// for a UUID kept as bytes; valid while both are.
  std::string_view id(id_buffer& buffer) const;
  std::string_view metadata() const {
    return {text_.get() + role_size_ + content_size_ + id_size_,
            metadata_size_};
  }

  stored_message unpack() const;

private:
  message_details details() const;
  std::size_t text_size() const {
    return std::size_t{role_size_} + content_size_ + id_size_ + metadata_size_;
  }

  uint64_t seq_ = 0;
  int64_t created_at_ = 0;
  uint32_t token_count_ = 0;
  // Sizes of the parts of text_, in this order. A message is far below
  // 4 GiB: the server bounds its body.
  uint32_t role_size_ = 0;
  uint32_t content_size_ = 0;
  uint32_t id_size_ = 0;
  uint32_t metadata_size_ = 0;
  /// The id is a UUID as the server writes them, kept as its 16 bytes
  /// (id_size_ 16) rather than its 36 characters: most messages have one.
  bool binary_uuid_ = false;
  std::unique_ptr<char[]> text_;
};

} // namespace motorhead
