// Times as the API writes them: RFC 3339, in UTC, to the millisecond.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace motorhead {

/// Milliseconds since the Unix epoch of an RFC 3339 date-time such as
/// "2026-12-01T20:14:57Z" or "2026-12-01t20:14:57.123456+02:00" (digits
/// past the millisecond are dropped); nothing when `text` is not one.
std::optional<int64_t> parse_rfc3339(std::string_view text);

/// "2026-12-01T20:14:57.123Z".
std::string format_rfc3339(int64_t unix_ms);

} // namespace motorhead
