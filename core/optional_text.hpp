// An optional string held by one pointer.
#pragma once

#include <memory>
#include <optional>
#include <string>

namespace motorhead {

/// An optional string in 8 bytes where std::optional<std::string> takes 40:
/// for a field that most of many instances leave empty, such as the
/// summary of a live session (a session actor's state decides its size
/// class in the allocator).
class optional_text {
public:
  optional_text() = default;
  optional_text(const optional_text& other) { *this = other.value(); }
  optional_text& operator=(const optional_text& other) {
    return *this = other.value();
  }
  optional_text(optional_text&&) noexcept = default;
  optional_text& operator=(optional_text&&) noexcept = default;

  optional_text& operator=(std::optional<std::string> text) {
    text_ = text ? std::make_unique<std::string>(std::move(*text)) : nullptr;
    return *this;
  }

  explicit operator bool() const { return text_ != nullptr; }
  /// The text, or null for none.
  const std::string* get() const { return text_.get(); }
  std::optional<std::string> value() const {
    return text_ ? std::optional<std::string>{*text_} : std::nullopt;
  }
  void reset() { text_.reset(); }

private:
  std::unique_ptr<std::string> text_;
};

} // namespace motorhead
