#include "core/rendezvous.hpp"

#include <map>

#include <gtest/gtest.h>

using namespace motorhead;

TEST(Rendezvous, IsStable) {
  // Fixed values: every node, whatever its build, must agree.
  EXPECT_EQ(stable_hash(""), stable_hash(""));
  EXPECT_NE(stable_hash("a"), stable_hash("b"));
  std::vector<std::string> members{"10.0.0.1:7000", "10.0.0.2:7000",
                                   "10.0.0.3:7000"};
  auto owner = owner_of("session-42", members);
  std::vector<std::string> shuffled{members[2], members[0], members[1]};
  EXPECT_EQ(owner_of("session-42", shuffled), owner);
  EXPECT_EQ(owner_of("x", {}), "");
}

TEST(Rendezvous, SpreadsSessionsEvenly) {
  std::vector<std::string> members{"n1:1", "n2:1", "n3:1"};
  std::map<std::string, int> counts;
  for (int i = 0; i < 30000; ++i)
    ++counts[owner_of("session-" + std::to_string(i), members)];
  for (const auto& [member, count] : counts)
    EXPECT_NEAR(count, 10000, 600) << member;
}

TEST(Rendezvous, OnlyTheLeaversSessionsMove) {
  std::vector<std::string> three{"n1:1", "n2:1", "n3:1"};
  std::vector<std::string> two{"n1:1", "n3:1"};
  for (int i = 0; i < 5000; ++i) {
    auto id = "s" + std::to_string(i);
    auto before = owner_of(id, three);
    if (before != "n2:1") {
      EXPECT_EQ(owner_of(id, two), before) << id;
    }
  }
}
