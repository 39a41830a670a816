#include "http/auth.hpp"

#include <gtest/gtest.h>

using namespace motorhead;
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
  std::vector<api_key> keys{{"alpha", {}}, {"beta", {true, {"ns1"}, {}}}};
  ASSERT_NE(find_key("alpha", keys), nullptr);
  EXPECT_FALSE(find_key("alpha", keys)->scope.restricted);
  ASSERT_NE(find_key("beta", keys), nullptr);
  EXPECT_EQ(find_key("beta", keys)->scope.namespaces,
            std::vector<std::string>{"ns1"});
  EXPECT_EQ(find_key("alph", keys), nullptr);
  EXPECT_EQ(find_key("alphax", keys), nullptr);
  EXPECT_EQ(find_key("", keys), nullptr);
  EXPECT_EQ(find_key("alpha", {}), nullptr);
}

TEST(AccessScope, ReachesItsNamespacesOnly) {
  access_scope everything;
  EXPECT_TRUE(everything.allows("any"));
  EXPECT_TRUE(everything.reaches({}));
  access_scope tenant{true, {"t1", "t2"}, {}};
  EXPECT_TRUE(tenant.allows("t2"));
  EXPECT_FALSE(tenant.allows("t3"));
  EXPECT_TRUE(tenant.reaches({"t3", "t1"}));
  EXPECT_FALSE(tenant.reaches({"t3"}));
  EXPECT_FALSE(tenant.reaches({}));
}
