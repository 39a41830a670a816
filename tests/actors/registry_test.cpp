#define CAF_SUITE registry
#include "actor_fixture.hpp"

using namespace motorhead;
using namespace motorhead::testing;

namespace {

struct registry_fixture : actor_fixture {
  registry_state& registry_data() {
    return deref<caf::stateful_actor<registry_state, registry_actor::base>>(
             registry)
      .state;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(registry_tests, registry_fixture)

CAF_TEST(each session id gets one actor) {
  CAF_REQUIRE(post("a", numbered_messages(1, 1)));
  CAF_REQUIRE(post("b", numbered_messages(1, 1)));
  CAF_REQUIRE(get("a"));
  CAF_CHECK_EQUAL(registry_data().sessions.size(), 2u);
  CAF_CHECK_EQUAL(registry_data().sessions["a"].delegated, 2u);
}

CAF_TEST(an idle session stops and comes back from the store) {
  CAF_REQUIRE(post("a", numbered_messages(1, 2)));
  auto first = registry_data().sessions.at("a").handle;
  advance_time(limits.idle);
  sched.run();
  CAF_CHECK_EQUAL(registry_data().sessions.count("a"), 0u);
  auto view = get("a");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (std::vector<std::string>{"m2", "m1"}));
  CAF_CHECK_NOT_EQUAL(registry_data().sessions.at("a").handle, first);
  CAF_CHECK_EQUAL(store_state().loads, 2u);
}

CAF_TEST(a session does not stop while a fold is under way) {
  CAF_REQUIRE(post("a", numbered_messages(1, 5)));
  advance_time(limits.idle);
  sched.run();
  CAF_CHECK_EQUAL(registry_data().sessions.count("a"), 1u);
  finish_fold("done");
  advance_time(limits.idle);
  sched.run();
  CAF_CHECK_EQUAL(registry_data().sessions.count("a"), 0u);
}

CAF_TEST(the registry refuses a stop while requests are on their way) {
  CAF_REQUIRE(post("a", numbered_messages(1, 1)));
  // The session has seen one request; claim it has seen none.
  auto stale = ask<bool>(registry, idle_atom::value, std::string{"a"},
                         uint64_t{0});
  CAF_REQUIRE(stale);
  CAF_CHECK_EQUAL(*stale, false);
  CAF_CHECK_EQUAL(registry_data().sessions.count("a"), 1u);
  auto current = ask<bool>(registry, idle_atom::value, std::string{"a"},
                           uint64_t{1});
  CAF_REQUIRE(current);
  CAF_CHECK_EQUAL(*current, true);
  CAF_CHECK_EQUAL(registry_data().sessions.count("a"), 0u);
}

CAF_TEST(list and ping go to the store) {
  CAF_REQUIRE(post("a", numbered_messages(1, 1)));
  auto ids = ask<std::vector<std::string>>(registry, list_atom::value,
                                           session_page{});
  CAF_REQUIRE(ids);
  CAF_CHECK_EQUAL(*ids, (std::vector<std::string>{"a"}));
  CAF_CHECK(ask<ok_atom>(registry, ping_atom::value));
  store_state().down = true;
  CAF_CHECK(!ask<ok_atom>(registry, ping_atom::value));
}

CAF_TEST_FIXTURE_SCOPE_END()
