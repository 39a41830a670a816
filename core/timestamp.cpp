#include "core/timestamp.hpp"

#include <cstdio>

namespace motorhead {

namespace {

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

std::string format_rfc3339(int64_t unix_ms) {
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
  if (year < 0 || year > 9999) { // beyond RFC 3339: written all the same
    char text[48];
    std::snprintf(text, sizeof text,
                  "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                  static_cast<long long>(year), month, day,
                  static_cast<long long>(rest / 3600),
                  static_cast<long long>(rest / 60 % 60),
                  static_cast<long long>(rest % 60),
                  static_cast<long long>(millis));
    return text;
  }
  // Digit by digit: every answer with messages formats their times, and
  // snprintf showed in the profile of GET.
  std::string text = "0000-00-00T00:00:00.000Z";
  auto put = [&text](std::size_t end, int64_t value) {
    for (auto pos = end; value > 0; value /= 10)
      text[--pos] = static_cast<char>('0' + value % 10);
  };
  put(4, year);
  put(7, month);
  put(10, day);
  put(13, rest / 3600);
  put(16, rest / 60 % 60);
  put(19, rest % 60);
  put(23, millis);
  return text;
}

} // namespace motorhead
