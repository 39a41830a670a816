// The membership table's scripts against a real Redis: every change is
// conditional on the table's version, signs of life only on active rows.
#include "storage/membership_table.hpp"

#include <gtest/gtest.h>

#include "redis_test_server.hpp"

using namespace motorhead;
using namespace motorhead::testing;

namespace {

constexpr int64_t keep_departed_ms = 3'600'000;

store::member_row member(std::string address, uint64_t incarnation,
                         store::member_status status
                         = store::member_status::active) {
  store::member_row row;
  row.address = std::move(address);
  row.incarnation = incarnation;
  row.status = status;
  return row;
}

class MembershipTable : public ::testing::Test {
protected:
  store::membership_table read(const std::string& reader = "",
                               uint64_t held_version = 0) {
    auto result = redis->execute(
      store::membership_read_commands(reader, held_version), true);
    EXPECT_TRUE(result.complete()) << result.error;
    auto table = store::decode_membership(result.replies);
    EXPECT_TRUE(table) << table.error;
    return table ? *table.value : store::membership_table{};
  }

  store::membership_write_result write(uint64_t expected,
                                       std::vector<store::member_row> rows,
                                       int64_t forget_after_ms = keep_departed_ms) {
    auto result = redis->execute(
      store::membership_write_commands(expected, rows, forget_after_ms), true);
    EXPECT_TRUE(result.complete()) << result.error;
    auto written = store::decode_membership_write(result.replies);
    EXPECT_TRUE(written) << written.error;
    return written ? *written.value : store::membership_write_result{};
  }

  store::membership_suspect_result suspect(uint64_t expected,
                                           const std::string& suspect,
                                           const std::string& suspecter,
                                           int64_t window_ms = 10'000) {
    auto result = redis->execute(
      store::membership_suspect_commands(expected, suspect, suspecter,
                                         window_ms, keep_departed_ms),
      true);
    EXPECT_TRUE(result.complete()) << result.error;
    auto recorded = store::decode_membership_suspect(result.replies);
    EXPECT_TRUE(recorded) << recorded.error;
    return recorded ? *recorded.value : store::membership_suspect_result{};
  }

  redis_server server;
  std::unique_ptr<redis_client> redis = server.client();
};

} // namespace

TEST_F(MembershipTable, AnEmptyTableHasVersionZero) {
  auto table = read();
  EXPECT_EQ(table.version, 0u);
  EXPECT_TRUE(table.rows.empty());
  EXPECT_FALSE(table.renewed);
  EXPECT_EQ(table.known_since, 0u);
}

TEST_F(MembershipTable, AWriteOnTheVersionItReadMovesItOn) {
  auto written = write(0, {member("10.0.0.1:7000", 11)});
  EXPECT_TRUE(written.written);
  EXPECT_EQ(written.version, 1u);
  auto table = read();
  EXPECT_EQ(table.version, 1u);
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.rows[0].address, "10.0.0.1:7000");
  EXPECT_EQ(table.rows[0].incarnation, 11u);
  EXPECT_EQ(table.rows[0].status, store::member_status::active);
  EXPECT_EQ(table.rows[0].joined, 1u);
  EXPECT_EQ(table.rows[0].ended, 0u);
  EXPECT_EQ(table.rows[0].renewals, 0u);
  EXPECT_GT(table.rows[0].changed_ms, 0);
}

TEST_F(MembershipTable, OfTwoWritesOnOneVersionOnlyTheFirstLands) {
  ASSERT_TRUE(write(0, {member("a:1", 1)}).written);
  // Two nodes read version 1; each declares the other's view.
  auto first = write(1, {member("a:1", 1, store::member_status::dead)});
  auto second = write(1, {member("b:1", 2)});
  EXPECT_TRUE(first.written);
  EXPECT_FALSE(second.written);
  EXPECT_EQ(second.version, 2u); // where the table is: read again
  auto table = read();
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.rows[0].status, store::member_status::dead);
  // Active over [1, 2): what a lease holder needs to know of its views.
  EXPECT_EQ(table.rows[0].joined, 1u);
  EXPECT_EQ(table.rows[0].ended, 2u);
}

TEST_F(MembershipTable, ARenewalNeedsAnActiveRowAndTheVersionTheReaderHolds) {
  ASSERT_TRUE(write(0, {member("a:1", 1), member("b:1", 2)}).written);
  EXPECT_TRUE(read("a:1/1", 1).renewed);
  EXPECT_TRUE(read("a:1/1", 1).renewed);
  EXPECT_EQ(read().find("a:1/1")->renewals, 2u);
  // The view moved on without the reader's knowing: no renewal under the
  // old one.
  ASSERT_TRUE(write(1, {member("c:1", 3)}).written);
  EXPECT_FALSE(read("a:1/1", 1).renewed);
  EXPECT_TRUE(read("a:1/1", 2).renewed);
  ASSERT_TRUE(write(2, {member("a:1", 1, store::member_status::dead)}).written);
  auto table = read("a:1/1", 3);
  EXPECT_FALSE(table.renewed); // declared dead: it must rejoin anew
  EXPECT_EQ(table.find("a:1/1")->renewals, 3u); // its last count stays
  // A restarted process is a new member: its own row, the old one stays.
  EXPECT_FALSE(read("a:1/3", 3).renewed);
  EXPECT_EQ(table.find("a:1/3"), nullptr);
  // Renewals change no view: the version stays.
  EXPECT_EQ(table.version, 3u);
}

TEST_F(MembershipTable, AMajorityOfTheOthersSuspectingAMemberDeclaresItDead) {
  ASSERT_TRUE(write(0, {member("a:1", 1), member("b:1", 2), member("c:1", 3)})
                .written);
  auto first = suspect(1, "b:1/2", "a:1/1");
  EXPECT_TRUE(first.recorded);
  EXPECT_FALSE(first.declared_dead); // one of two others
  EXPECT_EQ(read().find("b:1/2")->status, store::member_status::active);
  // b suspects a back (a cut between them): still one of two each.
  EXPECT_FALSE(suspect(1, "a:1/1", "b:1/2").declared_dead);
  auto second = suspect(1, "b:1/2", "c:1/3");
  EXPECT_TRUE(second.declared_dead);
  EXPECT_EQ(second.version, 2u);
  auto table = read();
  EXPECT_EQ(table.find("b:1/2")->status, store::member_status::dead);
  EXPECT_EQ(table.find("b:1/2")->ended, 2u);
  // b's suspicion of a never had a majority, and is gone with b.
  EXPECT_EQ(table.find("a:1/1")->status, store::member_status::active);
  EXPECT_EQ(redis->execute({{"HLEN", "motorhead:{members}:suspicions"}}, true)
              .replies[0].integer, 0);
}

TEST_F(MembershipTable, OfTwoMembersSuspectingEachOtherTheFirstWriteStays) {
  ASSERT_TRUE(write(0, {member("a:1", 1), member("b:1", 2)}).written);
  auto first = suspect(1, "b:1/2", "a:1/1");
  EXPECT_TRUE(first.declared_dead);
  auto second = suspect(1, "a:1/1", "b:1/2");
  EXPECT_FALSE(second.recorded); // the table moved on: b reads it, and rejoins
  EXPECT_EQ(read().find("a:1/1")->status, store::member_status::active);
}

TEST_F(MembershipTable, AReadNamesTheRedisProcessThatAnswered) {
  auto first = read().redis_run_id;
  EXPECT_EQ(first.size(), 40u); // INFO's run_id
  EXPECT_EQ(read().redis_run_id, first);
  redis_server other;
  auto table = store::decode_membership(
    other.client()->execute(store::membership_read_commands("", 0), true).replies);
  ASSERT_TRUE(table);
  EXPECT_NE(table.value->redis_run_id, first);
}

TEST_F(MembershipTable, OldSuspicionsDoNotCount) {
  ASSERT_TRUE(write(0, {member("a:1", 1), member("b:1", 2), member("c:1", 3)})
                .written);
  EXPECT_FALSE(suspect(1, "b:1/2", "a:1/1", 1).declared_dead);
  std::this_thread::sleep_for(std::chrono::milliseconds{5});
  EXPECT_FALSE(suspect(1, "b:1/2", "c:1/3", 1).declared_dead);
}

TEST_F(MembershipTable, RowsOfDepartedMembersAreForgottenByALaterWrite) {
  ASSERT_TRUE(write(0, {member("a:1", 1, store::member_status::left),
                        member("b:1", 2)}).written);
  ASSERT_TRUE(write(1, {member("c:1", 3)}, keep_departed_ms).written);
  EXPECT_NE(read().find("a:1/1"), nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds{5});
  ASSERT_TRUE(write(2, {member("d:1", 4)}, 1).written);
  auto table = read();
  EXPECT_EQ(table.find("a:1/1"), nullptr);
  EXPECT_EQ(table.rows.size(), 3u); // active ones stay, however old
  // Views up to the version it ended at are no longer described.
  EXPECT_EQ(table.known_since, 1u);
}

TEST_F(MembershipTable, ADepartedRowOfTheOlderFormatEndedBeforeTheVersionRead) {
  // Rows written before they kept the versions they were active over:
  // a dead member's says not when it ended.
  ASSERT_TRUE(redis->execute({{"HSET", "motorhead:{members}:rows",
                               "a:1/1", "dead a:1 1 1000",
                               "b:1/2", "active b:1 2 1000"},
                              {"SET", "motorhead:{members}:version", "7"}},
                             true).complete());
  auto table = read();
  ASSERT_EQ(table.rows.size(), 2u);
  const auto* dead = table.find("a:1/1");
  ASSERT_NE(dead, nullptr);
  // Not a member of the view read, nor of any view a load before it was
  // judged by: those are no longer described.
  EXPECT_EQ(dead->ended, 7u);
  EXPECT_EQ(table.known_since, 7u);
  EXPECT_EQ(table.find("b:1/2")->ended, 0u);
}

TEST_F(MembershipTable, ACorruptRowIsAnErrorNotAMember) {
  ASSERT_TRUE(redis->execute({{"HSET", "motorhead:{members}:rows", "x:1/1",
                               "active x:1"}}, true).complete());
  auto result = redis->execute(store::membership_read_commands("", 0), true);
  ASSERT_TRUE(result.complete());
  EXPECT_FALSE(store::decode_membership(result.replies));
}
