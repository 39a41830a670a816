#define CAF_SUITE registry
#include "actor_fixture.hpp"

#include "actors/fan_in.hpp"
#include "core/metrics.hpp"
#include "core/rendezvous.hpp"

using namespace motorhead;
using namespace motorhead::testing;

namespace {

struct registry_fixture : actor_fixture {
  /// Replaces the fixture's registry by one with this cache policy.
  void use_registry(session_cache_policy policy) {
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    registry = sys.spawn(session_registry,
                         session_setup{limits, {store, summarizer, {}}, nullptr, nullptr},
                         policy);
    sched.run();
  }

  /// Lets the next batches of sessions to stop go, a pause apart.
  void run_batches(int turns) {
    for (int turn = 0; turn < turns; ++turn) {
      advance_time(std::chrono::milliseconds{1});
      sched.run();
    }
  }

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
  CAF_CHECK_EQUAL(store_state().loads, 2u);
}

CAF_TEST(an idle session stops and comes back from the store) {
  CAF_REQUIRE(post("a", numbered_messages(1, 2)));
  auto first = registry_data().sessions.at("a").handle;
  advance_time(cache.idle);
  sched.run();
  CAF_CHECK_EQUAL(registry_data().sessions.count("a"), 0u);
  CAF_CHECK(registry_data().ids.empty());
  auto view = get("a");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (std::vector<std::string>{"m2", "m1"}));
  CAF_CHECK_NOT_EQUAL(registry_data().sessions.at("a").handle, first);
  CAF_CHECK_EQUAL(store_state().loads, 2u);
}

CAF_TEST(a session does not stop while a fold is under way) {
  CAF_REQUIRE(post("a", numbered_messages(1, 5)));
  advance_time(cache.idle);
  sched.run();
  CAF_CHECK_EQUAL(registry_data().sessions.count("a"), 1u);
  finish_fold("done");
  advance_time(cache.idle);
  sched.run();
  CAF_CHECK_EQUAL(registry_data().sessions.count("a"), 0u);
}

CAF_TEST(the registry refuses a stop while requests are on their way) {
  CAF_REQUIRE(post("a", numbered_messages(1, 1)));
  // The registry asks the session whether it may stop, then a GET for it
  // arrives before the session's answer does.
  advance_time(cache.idle);
  auto pending = self->request(registry, caf::infinite, memory_get_atom::value,
                               std::string{"a"}, access_scope{});
  sched.run();
  CAF_CHECK_EQUAL(registry_data().sessions.count("a"), 1u);
  bool answered = false;
  pending.receive(
    [&](encoded_memory& memory) {
      answered = decode_memory(memory).messages.size() == 1;
    },
    [](caf::error&) { CAF_FAIL("the GET was lost"); });
  CAF_CHECK(answered);
}

CAF_TEST(idle sessions stop in batches so that requests interleave) {
  for (int i = 0; i < 600; ++i)
    CAF_REQUIRE(post("s" + std::to_string(i), numbered_messages(1, 1)));
  auto stops_before = metrics::global().session_idle_stops.value();
  advance_time(cache.idle);
  sched.run();
  CAF_CHECK_EQUAL(registry_data().sessions.size(), 600u - 256u);
  run_batches(2);
  CAF_CHECK(registry_data().sessions.empty());
  CAF_CHECK_EQUAL(registry_data().asked_to_stop, 0u);
  CAF_CHECK_EQUAL(metrics::global().session_idle_stops.value() - stops_before,
                  600u);
}

CAF_TEST(a session used since the last sweep waits a whole idle time more) {
  CAF_REQUIRE(post("a", numbered_messages(1, 1)));
  advance_time(cache.idle / 2);
  CAF_REQUIRE(get("a"));
  advance_time(cache.idle / 2);
  sched.run();
  CAF_CHECK_EQUAL(registry_data().sessions.count("a"), 1u);
  advance_time(cache.idle / 2);
  sched.run();
  CAF_CHECK_EQUAL(registry_data().sessions.count("a"), 0u);
}

CAF_TEST(beyond the bound the least recently used session stops first) {
  use_registry(session_cache_policy{cache.idle, 2});
  auto evictions_before = metrics::global().session_evictions.value();
  CAF_REQUIRE(post("a", numbered_messages(1, 1)));
  CAF_REQUIRE(post("b", numbered_messages(1, 1)));
  CAF_REQUIRE(get("a"));
  CAF_REQUIRE(post("c", numbered_messages(1, 1)));
  CAF_CHECK_EQUAL(registry_data().sessions.count("a"), 1u);
  CAF_CHECK_EQUAL(registry_data().sessions.count("b"), 0u);
  CAF_CHECK_EQUAL(registry_data().sessions.count("c"), 1u);
  // b comes back from the store, and a, now the oldest, makes room.
  auto view = get("b");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (std::vector<std::string>{"m1"}));
  CAF_CHECK_EQUAL(registry_data().sessions.count("a"), 0u);
  CAF_CHECK_EQUAL(registry_data().sessions.size(), 2u);
  CAF_CHECK_EQUAL(metrics::global().session_evictions.value() - evictions_before,
                  2u);
}

CAF_TEST(a busy session is not evicted) {
  use_registry(session_cache_policy{cache.idle, 1});
  CAF_REQUIRE(post("a", numbered_messages(1, 5))); // a fold starts
  CAF_REQUIRE(post("b", numbered_messages(1, 1)));
  CAF_CHECK_EQUAL(registry_data().sessions.size(), 2u);
  finish_fold("done");
  // a declined and became the newest: b goes first, then a.
  CAF_REQUIRE(post("c", numbered_messages(1, 1)));
  CAF_CHECK_EQUAL(registry_data().sessions.size(), 1u);
  CAF_CHECK_EQUAL(registry_data().sessions.count("c"), 1u);
  CAF_CHECK_EQUAL(store_state().sessions["a"].context, std::string{"done"});
}

CAF_TEST(a late answer to an earlier question stops no busy session) {
  use_registry(session_cache_policy{cache.idle, 1});
  CAF_REQUIRE(post("a", numbered_messages(1, 1)));
  hold_store();
  // b asks a whether it may stop (1); a PATCH of a makes it the newest;
  // c asks it again (2). a answers (1) idle, then takes the PATCH and
  // waits for its read: only its answer to (2) may stop it.
  send_request(memory_get_atom::value, std::string{"b"}, access_scope{});
  auto patch = send_request(info_atom::value, std::string{"a"},
                            session_patch{true, R"({"k":1})", {}},
                            access_scope{});
  send_request(memory_get_atom::value, std::string{"c"}, access_scope{});
  sched.run();
  // Another request for a: the actor under way serves it, no second one
  // claims the session (which would fence the PATCH's write).
  auto again = send_request(memory_get_atom::value, std::string{"a"},
                            access_scope{});
  sched.run();
  release_store();
  patch.receive([](session_info&) {},
                [](caf::error& err) { CAF_FAIL("PATCH failed: " << err); });
  again.receive([](encoded_memory&) {},
                [](caf::error& err) { CAF_FAIL("GET failed: " << err); });
  CAF_CHECK_EQUAL(store_state().infos["a"].metadata, R"({"k":1})");
}

CAF_TEST(sessions owned elsewhere are retired) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back("s" + std::to_string(i));
    CAF_REQUIRE(post(ids.back(), numbered_messages(1, 1)));
  }
  std::vector<std::string> members{"node-a", "node-b"};
  self->send(registry, retire_atom::value, members, std::string{"node-a"});
  sched.run();
  for (const auto& id : ids)
    CAF_CHECK_EQUAL(registry_data().sessions.count(id),
                    owner_of(id, members) == "node-a" ? 1u : 0u);
  // A retired session comes back, reloaded, if a request still arrives.
  auto moved = std::find_if(ids.begin(), ids.end(), [&](const std::string& id) {
    return owner_of(id, members) == "node-b";
  });
  CAF_REQUIRE(moved != ids.end());
  auto view = get(*moved);
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (std::vector<std::string>{"m1"}));
}

CAF_TEST(sessions retire in batches so that requests interleave) {
  for (int i = 0; i < 600; ++i)
    CAF_REQUIRE(post("s" + std::to_string(i), numbered_messages(1, 1)));
  self->send(registry, retire_atom::value, std::vector<std::string>{"other"},
             std::string{"this"});
  expect((retire_atom, std::vector<std::string>, std::string),
         from(self).to(registry));
  CAF_CHECK_EQUAL(registry_data().sessions.size(), 600u - 256u);
  CAF_CHECK_EQUAL(registry_data().to_retire.size(), 600u - 256u);
  // The next batch waits for a pause.
  sched.run();
  CAF_CHECK_EQUAL(registry_data().sessions.size(), 600u - 256u);
  run_batches(2);
  CAF_CHECK(registry_data().sessions.empty());
  CAF_CHECK(registry_data().to_retire.empty());
  CAF_CHECK(registry_data().retired.empty()); // all of them stopped
}

CAF_TEST(a request for a session awaiting retirement gets a fresh actor) {
  CAF_REQUIRE(post("a", numbered_messages(1, 1)));
  auto first = registry_data().sessions.at("a").handle;
  registry_data().to_retire.insert("a");
  auto view = get("a");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (std::vector<std::string>{"m1"}));
  CAF_CHECK_NOT_EQUAL(registry_data().sessions.at("a").handle, first);
  CAF_CHECK(registry_data().to_retire.empty());
  CAF_CHECK_EQUAL(store_state().loads, 2u);
}

CAF_TEST(a retiring session finishes its fold first) {
  CAF_REQUIRE(post("a", numbered_messages(1, 5)));
  auto session = registry_data().sessions.at("a").handle;
  self->send(registry, retire_atom::value, std::vector<std::string>{"other"},
             std::string{"this"});
  sched.run();
  CAF_CHECK_EQUAL(registry_data().sessions.count("a"), 0u);
  finish_fold("handed over");
  // The fold landed before the actor stopped.
  CAF_CHECK_EQUAL(store_state().sessions["a"].context, std::string{"handed over"});
  CAF_CHECK_EQUAL(store_state().sessions["a"].messages.size(), 2u);
}

CAF_TEST(a session that stops on its own is forgotten) {
  CAF_REQUIRE(post("a", numbered_messages(1, 1)));
  CAF_REQUIRE(post("b", numbered_messages(1, 1)));
  // A newer owner's claim makes the session stop at its next write.
  ++store_state().sessions["a"].epoch;
  CAF_REQUIRE(!post("a", numbered_messages(2, 2)));
  CAF_CHECK_EQUAL(registry_data().sessions.count("a"), 0u);
  CAF_CHECK_EQUAL(registry_data().ids.size(), 1u);
  CAF_REQUIRE(post("a", numbered_messages(3, 3)));
  CAF_CHECK_EQUAL(registry_data().ids.size(), 2u);
}

CAF_TEST(sessions stop with their registry) {
  CAF_REQUIRE(post("a", numbered_messages(1, 1)));
  CAF_REQUIRE(post("b", numbered_messages(1, 5)));
  // Both retire; b's fold keeps it alive. Then a starts anew.
  self->send(registry, retire_atom::value, std::vector<std::string>{"other"},
             std::string{"this"});
  CAF_REQUIRE(post("a", numbered_messages(2, 2)));
  sched.run();
  auto live = registry_data().sessions.at("a").handle;
  CAF_REQUIRE_EQUAL(registry_data().retired.size(), 1u);
  auto retired = *registry_data().retired.begin();
  self->monitor(live);
  self->monitor(retired);
  caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
  sched.run();
  std::set<caf::actor_addr> stopped;
  for (int i = 0; i < 2; ++i)
    self->receive([&](caf::down_msg& down) { stopped.insert(down.source); },
                  caf::after(std::chrono::seconds{0}) >> [] {});
  CAF_CHECK_EQUAL(stopped, (std::set<caf::actor_addr>{live.address(), retired}));
}

CAF_TEST(a search step asks no session once its requester stopped waiting) {
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i)
    ids.push_back("s" + std::to_string(i));
  retrieval_query query;
  query.terms = {"m1"};
  query.time_left_ms = 100;
  hold_store();
  auto answer = self->request(registry, caf::infinite, stats_atom::value, ids,
                              query, access_scope{});
  sched.run();
  // One window of sessions loads, each waiting for the store.
  auto asked = store_state().held.size();
  CAF_CHECK_EQUAL(asked, requests_in_flight);
  advance_time(std::chrono::milliseconds{150});
  sched.run();
  release_store();
  CAF_CHECK_EQUAL(store_state().loads, asked);
  answer.receive([](corpus_stats&) { CAF_FAIL("a timed-out step answered"); },
                 [](caf::error& err) {
                   CAF_CHECK_EQUAL(err, caf::sec::request_timeout);
                 });
}

CAF_TEST(a search step without a time limit asks every session) {
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i)
    ids.push_back("s" + std::to_string(i));
  retrieval_query query;
  query.terms = {"m1"};
  auto stats = ask<corpus_stats>(registry, stats_atom::value, ids, query,
                                 access_scope{});
  CAF_REQUIRE(stats);
  CAF_CHECK_EQUAL(store_state().loads, 200u);
}

CAF_TEST(list and ping go to the store) {
  CAF_REQUIRE(post("a", numbered_messages(1, 1)));
  auto listing = ask<session_listing>(registry, list_atom::value,
                                      session_page{});
  CAF_REQUIRE(listing);
  CAF_CHECK_EQUAL(listing->ids, (std::vector<std::string>{"a"}));
  CAF_CHECK(ask<ok_atom>(registry, ping_atom::value));
  store_state().down = true;
  CAF_CHECK(!ask<ok_atom>(registry, ping_atom::value));
}

CAF_TEST_FIXTURE_SCOPE_END()
