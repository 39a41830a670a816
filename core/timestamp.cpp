#include "core/timestamp.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

namespace motorhead {

namespace {

/// "00" to "99", each number's two decimal digits.
constexpr std::array<char, 200> decimal_pairs = [] {
  std::array<char, 200> pairs{};
  for (std::size_t n = 0; n < 100; ++n) {
    pairs[2 * n] = static_cast<char>('0' + n / 10);
    pairs[2 * n + 1] = static_cast<char>('0' + n % 10);
  }
  return pairs;
}();

// Days from 1970-01-01 to a civil date and back, proleptic Gregorian
// (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30,
                                      31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/// Reads `count` digits at `pos` into `out`, advancing `pos`.
bool digits(std::string_view text, std::size_t& pos, std::size_t count,
            unsigned& out) {
  if (pos + count > text.size())
    return false;
  out = 0;
  for (std::size_t i = 0; i < count; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9')
      return false;
    out = out * 10 + static_cast<unsigned>(c - '0');
  }
  pos += count;
  return true;
}

bool literal(std::string_view text, std::size_t& pos, char expected) {
  if (pos >= text.size() || text[pos] != expected)
    return false;
  ++pos;
  return true;
}

} // namespace

std::optional<int64_t> parse_rfc3339(std::string_view text) {
  std::size_t pos = 0;
  unsigned year, month, day, hour, minute, second;
  if (!digits(text, pos, 4, year) || !literal(text, pos, '-')
      || !digits(text, pos, 2, month) || !literal(text, pos, '-')
      || !digits(text, pos, 2, day))
    return std::nullopt;
  if (pos >= text.size()
      || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' '))
    return std::nullopt;
  ++pos;
  if (!digits(text, pos, 2, hour) || !literal(text, pos, ':')
      || !digits(text, pos, 2, minute) || !literal(text, pos, ':')
      || !digits(text, pos, 2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)
      || hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  unsigned millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t start = pos;
    for (unsigned scale = 100; pos < text.size() && text[pos] >= '0'
                               && text[pos] <= '9';
         ++pos, scale /= 10)
      millis += static_cast<unsigned>(text[pos] - '0') * scale;
    if (pos == start)
      return std::nullopt;
  }
  int64_t offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    unsigned offset_hours, offset_mins;
    if (!digits(text, pos, 2, offset_hours) || !literal(text, pos, ':')
        || !digits(text, pos, 2, offset_mins) || offset_hours > 23
        || offset_mins > 59)
      return std::nullopt;
    offset_minutes = sign * static_cast<int64_t>(offset_hours * 60 + offset_mins);
  } else {
    return std::nullopt;
  }
  if (pos != text.size())
    return std::nullopt;
  int64_t seconds = days_from_civil(year, month, day) * 86400
                    + hour * 3600 + minute * 60 + second
                    - offset_minutes * 60;
  return seconds * 1000 + millis;
}

std::string_view rfc3339_text(int64_t unix_ms, rfc3339_buffer& buffer) {
  int64_t seconds = unix_ms / 1000;
  int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  int64_t days = seconds / 86400;
  int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  int64_t year;
  unsigned month, day;
  civil_from_days(days, year, month, day);
  char* text = buffer.data();
  if (year < 0 || year > 9999) { // beyond RFC 3339: written all the same
    int size = std::snprintf(text, buffer.size(),
                             "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                             static_cast<long long>(year), month, day,
                             static_cast<long long>(rest / 3600),
                             static_cast<long long>(rest / 60 % 60),
                             static_cast<long long>(rest % 60),
                             static_cast<long long>(millis));
    return {text, std::min(static_cast<std::size_t>(size), buffer.size() - 1)};
  }
  constexpr std::size_t rfc3339_size = 24; // "2026-12-01T20:14:57.123Z"
  // Two digits at a time from a table: every answer with messages writes
  // their times, and snprintf, then a digit at a time, showed in the
  // profile of GET.
  auto put_pair = [text](std::size_t at, int64_t value) {
    std::memcpy(text + at, &decimal_pairs[2 * static_cast<std::size_t>(value)], 2);
  };
  put_pair(0, year / 100);
  put_pair(2, year % 100);
  text[4] = '-';
  put_pair(5, month);
  text[7] = '-';
  put_pair(8, day);
  text[10] = 'T';
  put_pair(11, rest / 3600);
  text[13] = ':';
  put_pair(14, rest / 60 % 60);
  text[16] = ':';
  put_pair(17, rest % 60);
  text[19] = '.';
  text[20] = static_cast<char>('0' + millis / 100);
  put_pair(21, millis % 100);
  text[23] = 'Z';
  return {text, rfc3339_size};
}

std::string format_rfc3339(int64_t unix_ms) {
  rfc3339_buffer buffer;
  return std::string{rfc3339_text(unix_ms, buffer)};
}

} // namespace motorhead
