#include "core/timestamp.hpp"

#include <cstdio>
#include <ctime>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/random_id.hpp"

using namespace motorhead;

TEST(Rfc3339, ReadsUtcOffsetsAndFractions) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("2026-12-01T19:14:57Z"), 1796152497000);
  EXPECT_EQ(parse_rfc3339("2026-12-01t19:14:57.123456z"), 1796152497123);
  EXPECT_EQ(parse_rfc3339("2026-12-01 20:14:57.5+01:00"), 1796152497500);
  EXPECT_EQ(parse_rfc3339("2026-12-01T14:14:57-05:00"), 1796152497000);
  EXPECT_EQ(parse_rfc3339("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59Z"), -1000);
}

TEST(Rfc3339, RefusesWhatIsNotOne) {
  for (const char* text :
       {"", "2026-12-01", "2026-12-01T19:14:57", "2026-13-01T00:00:00Z",
        "2025-02-29T00:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T19:14:57.Z",
        "2026-12-01T19:14:57+0100", "2026-12-01T19:14:57Z ", "1796152497",
        "2026-12-01T19:14:57+24:00", "２026-12-01T19:14:57Z"})
    EXPECT_FALSE(parse_rfc3339(text)) << text;
}

TEST(Rfc3339, WritesUtcToTheMillisecond) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(1796152497123), "2026-12-01T19:14:57.123Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
  for (int64_t ms : {1709164800000LL, 951782400000LL, 4102444799999LL})
    EXPECT_EQ(parse_rfc3339(format_rfc3339(ms)), ms);
}

TEST(Rfc3339, WritesEveryYearItCanParse) {
  EXPECT_EQ(format_rfc3339(-62167219200000), "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(253402300799999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(253402300800000), "10000-01-01T00:00:00.000Z");
  // Parsing is written independently: a sweep over the whole range, at a
  // step that visits every field's values, comes back unchanged.
  for (int64_t ms = -62167219200000; ms < 253402300800000; ms += 987654321011)
    EXPECT_EQ(parse_rfc3339(format_rfc3339(ms)), ms) << ms;
}

TEST(Rfc3339, WritesWhatTheCLibraryWrites) {
  // glibc's calendar, written independently, over years 0 to 9999 at a
  // step that visits every field's values, and at the edges of a day.
  auto expected = [](int64_t ms) {
    auto seconds = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                  parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                  parts.tm_hour, parts.tm_min, parts.tm_sec,
                  static_cast<int>(ms - int64_t{seconds} * 1000));
    return std::string{text};
  };
  std::vector<int64_t> times{-62167219200000, 253402300799999, -1, 0, 999,
                             86399999, 86400000, 951782400000, 1796152497123};
  for (int64_t ms = -62167219200000; ms < 253402300800000; ms += 98765432101)
    times.push_back(ms);
  for (int64_t ms : times) {
    rfc3339_buffer buffer;
    EXPECT_EQ(rfc3339_text(ms, buffer), expected(ms)) << ms;
  }
}

TEST(RandomId, UuidsAreVersion4AndDiffer) {
  auto a = random_uuid();
  auto b = random_uuid();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  for (std::size_t dash : {8u, 13u, 18u, 23u})
    EXPECT_EQ(a[dash], '-');
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(std::string{"89ab"}.find(a[19]), std::string::npos) << a;
  EXPECT_EQ(random_hex(40).size(), 40u);
}

TEST(RandomId, EveryRandomDigitOfAUuidVaries) {
  std::vector<std::set<char>> seen(36);
  for (int i = 0; i < 200; ++i) {
    auto id = random_uuid();
    for (std::size_t at = 0; at < id.size(); ++at)
      seen[at].insert(id[at]);
  }
  for (std::size_t at = 0; at < seen.size(); ++at) {
    bool fixed = at == 8 || at == 13 || at == 14 || at == 18 || at == 23;
    if (fixed)
      continue;
    EXPECT_GE(seen[at].size(), at == 19 ? 4u : 12u) << "digit " << at;
    for (char c : seen[at])
      EXPECT_NE(std::string{"0123456789abcdef"}.find(c), std::string::npos) << c;
  }
}
