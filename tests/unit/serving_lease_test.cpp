// The serving lease on a fake clock: it runs until the time a renewal set,
// and covers a session only while the session stayed this node's in every
// view since it was loaded.
#include "core/serving_lease.hpp"

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "core/rendezvous.hpp"

using namespace motorhead;
using namespace std::chrono_literals;

namespace {

/// A session `a` wins over `b` with, and `b` over `a` with.
struct contested {
  std::string a_wins, b_wins;
};

contested sessions_between(const std::string& a, const std::string& b) {
  contested found;
  for (int i = 0; found.a_wins.empty() || found.b_wins.empty(); ++i) {
    auto id = "s" + std::to_string(i);
    (wins_over(a, b, id) ? found.a_wins : found.b_wins) = id;
  }
  return found;
}

class ServingLease : public ::testing::Test {
protected:
  boot_clock::time_point now{std::chrono::seconds{1000}};
  serving_lease lease{[this] { return now; }};

  std::shared_ptr<const view_history>
  history(uint64_t version, std::vector<member_span> spans,
          uint64_t known_since = 0) {
    return std::make_shared<const view_history>(
      view_history{version, known_since, std::move(spans)});
  }
};

} // namespace

TEST_F(ServingLease, RunsUntilTheTimeTheRenewalSet) {
  EXPECT_FALSE(lease.valid());
  lease.renewed("a", history(1, {{"a", 1, 0}}), now + 2s);
  auto version = lease.may_load("any");
  ASSERT_TRUE(version);
  EXPECT_EQ(*version, 1u);
  now += 1999ms;
  EXPECT_TRUE(lease.covers("any", *version));
  now += 1ms;
  EXPECT_FALSE(lease.valid());
  EXPECT_FALSE(lease.covers("any", *version));
  EXPECT_FALSE(lease.may_load("any"));
}

TEST_F(ServingLease, CoversNothingOnceRevoked) {
  lease.renewed("a", history(1, {{"a", 1, 0}}), now + 2s);
  uint64_t loaded = 1;
  lease.revoke();
  EXPECT_FALSE(lease.covers("any", loaded));
}

TEST_F(ServingLease, LoadsOnlyWhatThisNodeOwnsInItsView) {
  auto split = sessions_between("a", "b");
  lease.renewed("a", history(2, {{"a", 1, 0}, {"b", 2, 0}}), now + 2s);
  EXPECT_TRUE(lease.may_load(split.a_wins));
  EXPECT_FALSE(lease.may_load(split.b_wins));
}

TEST_F(ServingLease, ASessionThatMovedAwayIsNotServedUnderTheNewView) {
  auto split = sessions_between("a", "b");
  lease.renewed("a", history(1, {{"a", 1, 0}}), now + 2s);
  uint64_t kept = *lease.may_load(split.a_wins);
  uint64_t moved = *lease.may_load(split.b_wins);
  // b joins at version 2: the old lease still judges by view 1 until the
  // node adopts view 2.
  EXPECT_TRUE(lease.covers(split.b_wins, moved));
  lease.adopt(history(2, {{"a", 1, 0}, {"b", 2, 0}}));
  EXPECT_FALSE(lease.covers(split.b_wins, moved));
  EXPECT_TRUE(lease.covers(split.a_wins, kept));
  EXPECT_EQ(kept, 2u);
}

TEST_F(ServingLease, ASessionThatMovedAwayAndBackMustBeLoadedAgain) {
  auto split = sessions_between("a", "b");
  lease.renewed("a", history(1, {{"a", 1, 0}}), now + 2s);
  uint64_t loaded = *lease.may_load(split.b_wins);
  // The node missed view 2, in which b owned the session (and may have
  // written it), and reads view 3, where b is gone again.
  lease.renewed("a", history(3, {{"a", 1, 0}, {"b", 2, 3}}), now + 2s);
  EXPECT_FALSE(lease.covers(split.b_wins, loaded));
  auto reloaded = lease.may_load(split.b_wins);
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(*reloaded, 3u);
}

TEST_F(ServingLease, ASessionLoadedBeforeThisNodeWasDeclaredDeadIsNotCovered) {
  auto split = sessions_between("a", "b");
  lease.renewed("a", history(1, {{"a", 1, 0}, {"b", 1, 0}}), now + 2s);
  uint64_t loaded = *lease.may_load(split.a_wins);
  // a is declared dead at version 2, where b owns every session (and may
  // write them), and joins again as a new incarnation at version 3.
  lease.renewed("a", history(3, {{"a", 1, 2}, {"b", 1, 0}, {"a", 3, 0}}),
                now + 2s);
  EXPECT_FALSE(lease.covers(split.a_wins, loaded));
  EXPECT_EQ(lease.may_load(split.a_wins), 3u);
}

TEST_F(ServingLease, ASessionIsCoveredAcrossAnIncarnationWithNoGap) {
  // An incarnation ending at the version the next begins (a restart
  // taking its own row over) leaves no view without the address.
  lease.renewed("a", history(3, {{"a", 1, 3}, {"a", 3, 0}}), now + 2s);
  uint64_t loaded = 2;
  EXPECT_TRUE(lease.covers("any", loaded));
}

TEST_F(ServingLease, AViewOlderThanTheTableRemembersIsNotTrusted) {
  lease.renewed("a", history(9, {{"a", 1, 0}}, 5), now + 2s);
  uint64_t loaded = 4;
  EXPECT_FALSE(lease.covers("any", loaded));
  loaded = 5;
  EXPECT_TRUE(lease.covers("any", loaded));
}

TEST_F(ServingLease, AnOlderViewIsNotAdopted) {
  auto split = sessions_between("a", "b");
  lease.renewed("a", history(3, {{"a", 1, 0}}), now + 2s);
  lease.adopt(history(2, {{"a", 1, 0}, {"b", 2, 0}}));
  EXPECT_TRUE(lease.may_load(split.b_wins));
}

TEST(ViewHistory, MembersAtEachVersion) {
  view_history view{4, 0, {{"b", 1, 0}, {"a", 2, 4}, {"c", 3, 0}, {"a", 4, 0}}};
  EXPECT_EQ(view.members_at(1), (std::vector<std::string>{"b"}));
  EXPECT_EQ(view.members_at(3), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(view.members_at(4), (std::vector<std::string>{"a", "b", "c"}));
}
