// Times as the API writes them: RFC 3339, in UTC, to the millisecond.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace motorhead {

/// Milliseconds since the Unix epoch of an RFC 3339 date-time such as
/// "2026-12-01T20:14:57Z" or "2026-12-01t20:14:57.123456+02:00" (digits
/// past the millisecond are dropped); nothing when `text` is not one.
std::optional<int64_t> parse_rfc3339(std::string_view text);

/// Room for any time rfc3339_text writes: "2026-12-01T20:14:57.123Z" in
/// 24 bytes, a year beyond 9999 or before 0 in more.
using rfc3339_buffer = std::array<char, 48>;

/// "2026-12-01T20:14:57.123Z", written into `buffer`: no allocation, for
/// the answers that write a time for each message.
std::string_view rfc3339_text(int64_t unix_ms, rfc3339_buffer& buffer);

/// rfc3339_text as a string.
std::string format_rfc3339(int64_t unix_ms);

} // namespace motorhead
