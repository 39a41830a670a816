#include "core/packed_message.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/random_id.hpp"

using namespace motorhead;

namespace {

stored_message full_message() {
  return {42, "Human", std::string{"caf\xc3\xa9 with a \0 inside", 20},
          {"c0ffee00-0000-4000-8000-000000000001", 1764633600123,
           R"({"topic":"billing"})", 9}};
}

/// Role, content and details alike (a chat_message or a stored_message).
template <class A, class B>
void expect_same_message(const A& a, const B& b) {
  EXPECT_EQ(a.role, b.role);
  EXPECT_EQ(a.content, b.content);
  EXPECT_EQ(a.details.id, b.details.id);
  EXPECT_EQ(a.details.created_at, b.details.created_at);
  EXPECT_EQ(a.details.metadata, b.details.metadata);
  EXPECT_EQ(a.details.token_count, b.details.token_count);
}

void expect_same(const stored_message& a, const stored_message& b) {
  EXPECT_EQ(a.seq, b.seq);
  expect_same_message(a, b);
}

} // namespace

TEST(PackedMessage, KeepsEveryFieldOfTheMessage) {
  auto original = full_message();
  packed_message packed{original};
  EXPECT_EQ(packed.seq(), 42u);
  EXPECT_EQ(packed.role(), "Human");
  EXPECT_EQ(packed.content(), original.content);
  EXPECT_EQ(packed.id(), original.details.id);
  EXPECT_EQ(packed.metadata(), original.details.metadata);
  expect_same(packed.unpack(), original);
}

TEST(PackedMessage, GivesBackEveryIdAsItWasWritten) {
  // Lower-case UUIDs are kept as 16 bytes; anything else as its text.
  for (const char* id :
       {"c0ffee00-0000-4000-8000-000000000001",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "C0FFEE00-0000-4000-8000-000000000001",
        "c0ffee00-0000-4000-8000-00000000000g",
        "c0ffee00-0000-4000-8000-00000000000:", // the bytes around the
        "c0ffee00-0000-4000-8000-00000000000`", // ranges of hex digits
        "c0ffee00-0000-4000-8000-00000000000/",
        "c0ffee00+0000-4000-8000-000000000001",
        "01234567-89ab-cdef-0123-456789abcdef",
        "fedcba98-7654-3210-fedc-ba9876543210",
        "c0ffee0000004000800000000000000001ab", "message-1", "1234567890abcdef"}) {
    stored_message msg{3, "AI", "hi", {id, 1, R"({"k":1})", 1}};
    packed_message packed{msg};
    EXPECT_EQ(packed.id(), id);
    EXPECT_EQ(packed.metadata(), R"({"k":1})") << id;
    expect_same(packed_message{packed}.unpack(), msg);
  }
}

TEST(PackedMessage, GivesBackTheUuidsTheServerWrites) {
  for (int i = 0; i < 2000; ++i) {
    auto id = random_uuid();
    packed_message packed{stored_message{1, "AI", "hi", {id, 1, "", 1}}};
    packed_message::id_buffer buffer;
    ASSERT_EQ(packed.id(buffer), id);
  }
}

TEST(PackedMessage, KeepsEmptyParts) {
  stored_message bare{7, "", "", {}};
  packed_message packed{bare};
  EXPECT_TRUE(packed.role().empty());
  EXPECT_TRUE(packed.content().empty());
  EXPECT_TRUE(packed.id().empty());
  EXPECT_TRUE(packed.metadata().empty());
  expect_same(packed.unpack(), bare);
}

TEST(PackedMessage, LendsItsIdWithoutACopy) {
  auto original = full_message();
  packed_message packed{original};
  packed_message::id_buffer buffer;
  EXPECT_EQ(packed.id(buffer), original.details.id);
  EXPECT_FALSE(packed.id(buffer).empty());
  EXPECT_EQ(packed.created_at(), original.details.created_at);
  EXPECT_EQ(packed.token_count(), original.details.token_count);
  stored_message without_id{1, "AI", "hi", {}};
  EXPECT_TRUE(packed_message{without_id}.id(buffer).empty());
}

TEST(PackedMessage, CopiesAreIndependentAndVectorsGrowIntact) {
  std::vector<packed_message> window;
  for (uint64_t seq = 1; seq <= 40; ++seq)
    window.emplace_back(
      stored_message{seq, "AI", "answer " + std::to_string(seq), {}});
  auto copy = window;
  window.erase(window.begin(), window.begin() + 30);
  ASSERT_EQ(window.size(), 10u);
  EXPECT_EQ(window.front().seq(), 31u);
  EXPECT_EQ(window.front().content(), "answer 31");
  ASSERT_EQ(copy.size(), 40u);
  EXPECT_EQ(copy.front().content(), "answer 1");
  packed_message assigned;
  assigned = copy.back();
  EXPECT_EQ(assigned.content(), "answer 40");
  EXPECT_EQ(copy.back().content(), "answer 40");
}
