#include "http/cors.hpp"

#include <gtest/gtest.h>

using namespace motorhead::http;

namespace {

std::string header(const api_response& response, const std::string& name) {
  for (const auto& [key, value] : response.headers)
    if (key == name)
      return value;
  return {};
}

} // namespace

TEST(Cors, IsOffWithoutOrigins) {
  cors_policy off{{}};
  EXPECT_FALSE(off.is_on());
  EXPECT_FALSE(off.allows("https://app.example"));
}

TEST(Cors, AllowsOnlyTheListedOrigins) {
  cors_policy cors{{"https://app.example"}};
  EXPECT_TRUE(cors.allows("https://app.example"));
  EXPECT_FALSE(cors.allows("https://app.example.evil"));
  EXPECT_FALSE(cors.allows("http://app.example"));
  EXPECT_FALSE(cors.allows(""));
  auto ok = cors.preflight(route_kind::retrieval, "https://app.example");
  EXPECT_EQ(ok.status, 204u);
  EXPECT_EQ(header(ok, "Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(header(ok, "Access-Control-Allow-Methods"), "POST");
  EXPECT_EQ(header(ok, "Vary"), "Origin");
  EXPECT_EQ(cors.preflight(route_kind::memory, "https://x.example").status,
            403u);
}

TEST(Cors, AStarAllowsAnyOriginWithoutVary) {
  cors_policy any{{"*"}};
  EXPECT_TRUE(any.allows("https://whatever.example"));
  auto headers = any.headers_for("https://whatever.example");
  EXPECT_EQ(headers.front().second, "*");
  for (const auto& [name, value] : headers)
    EXPECT_NE(name, "Vary");
}
