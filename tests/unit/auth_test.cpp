#include "http/auth.hpp"

#include <gtest/gtest.h>

using namespace motorhead::http;

TEST(BearerToken, TheSchemeIsCaseInsensitive) {
  EXPECT_EQ(bearer_token("Bearer k1"), "k1");
  EXPECT_EQ(bearer_token("bearer k1"), "k1");
  EXPECT_EQ(bearer_token("BEARER k1"), "k1");
  EXPECT_EQ(bearer_token("  Bearer \t k1  "), "k1");
}

TEST(BearerToken, OtherCredentialsHaveNone) {
  EXPECT_EQ(bearer_token(""), "");
  EXPECT_EQ(bearer_token("Bearer"), "");
  EXPECT_EQ(bearer_token("Bearer   "), "");
  EXPECT_EQ(bearer_token("Bearerk1"), "");
  EXPECT_EQ(bearer_token("Basic azE6"), "");
  EXPECT_EQ(bearer_token("k1"), "");
}

TEST(KnownKeys, MatchWholeKeysOnly) {
  std::vector<std::string> keys{"alpha", "beta"};
  EXPECT_TRUE(is_known_key("alpha", keys));
  EXPECT_TRUE(is_known_key("beta", keys));
  EXPECT_FALSE(is_known_key("alph", keys));
  EXPECT_FALSE(is_known_key("alphax", keys));
  EXPECT_FALSE(is_known_key("", keys));
  EXPECT_FALSE(is_known_key("alpha", {}));
}
