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
  store::membership_table read(const std::string& reader = "") {
    auto result = redis->execute(store::membership_read_commands(reader), true);
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

  redis_server server;
  std::unique_ptr<redis_client> redis = server.client();
};

} // namespace

TEST_F(MembershipTable, AnEmptyTableHasVersionZeroAndTheRedisClock) {
  auto table = read();
  EXPECT_EQ(table.version, 0u);
  EXPECT_TRUE(table.rows.empty());
  EXPECT_GT(table.now_ms, 1'700'000'000'000);
  EXPECT_FALSE(table.reader_active);
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
  // A member that joins counts as alive from its join.
  EXPECT_GE(table.rows[0].alive_ms, table.rows[0].changed_ms);
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
  EXPECT_EQ(table.rows[0].alive_ms, 0); // no sign of life once dead
}

TEST_F(MembershipTable, OnlyAnActiveMemberLeavesASignOfLife) {
  ASSERT_TRUE(write(0, {member("a:1", 1), member("b:1", 2)}).written);
  auto table = read("a:1/1");
  EXPECT_TRUE(table.reader_active);
  ASSERT_TRUE(write(1, {member("a:1", 1, store::member_status::dead)}).written);
  table = read("a:1/1");
  EXPECT_FALSE(table.reader_active); // declared dead: it must rejoin anew
  EXPECT_EQ(table.find("a:1/1")->alive_ms, 0);
  // A restarted process is a new member: its own row, the old one stays.
  EXPECT_FALSE(read("a:1/3").reader_active);
  EXPECT_EQ(table.find("a:1/3"), nullptr);
  // Signs of life change no view: the version stays.
  EXPECT_EQ(table.version, 2u);
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
}

TEST_F(MembershipTable, ACorruptRowIsAnErrorNotAMember) {
  ASSERT_TRUE(redis->execute({{"HSET", "motorhead:{members}:rows", "x:1/1",
                               "active x:1"}}, true).complete());
  auto result = redis->execute(store::membership_read_commands(""), true);
  ASSERT_TRUE(result.complete());
  EXPECT_FALSE(store::decode_membership(result.replies));
}
