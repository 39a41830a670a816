#define CAF_SUITE summarizer_pool
#include "actor_fixture.hpp"

using namespace motorhead;
using namespace motorhead::testing;

namespace {

struct pool_fixture : actor_fixture {
  pool_fixture() {
    // One worker (the fake, which holds jobs) and room for one waiting job.
    pool = sys.spawn(summarizer_pool, std::vector<summarizer_actor>{summarizer},
                     std::size_t{1});
    sched.run();
  }

  ~pool_fixture() override {
    caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
    sched.run();
  }

  caf::response_handle<caf::blocking_actor,
                       caf::message, true>
  submit(const std::string& id, uint64_t time_limit_ms = 0) {
    return self->request(caf::actor_cast<caf::actor>(pool), caf::infinite,
                         summarize_atom::value,
                         fold_job{id, {}, {}, time_limit_ms});
  }

  summarizer_actor pool;
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(summarizer_pool_tests, pool_fixture)

CAF_TEST(a full queue answers overloaded at once) {
  auto first = submit("first");
  auto second = submit("second");
  auto third = submit("third");
  sched.run();
  CAF_CHECK_EQUAL(summarizer_state().held.size(), 1u); // one worker busy
  bool overloaded = false;
  third.receive([](fold_result&) { CAF_FAIL("third job was accepted"); },
                [&](caf::error& err) {
                  overloaded = err.category() == service_error_category()
                               && err.code()
                                    == static_cast<uint8_t>(
                                      service_errc::overloaded);
                });
  CAF_CHECK(overloaded);
  finish_fold("one");
  // The queued job goes to the worker that came free.
  CAF_REQUIRE_EQUAL(summarizer_state().held.size(), 1u);
  CAF_CHECK_EQUAL(summarizer_state().held[0].job.session_id, "second");
  first.receive([](fold_result& r) { CAF_CHECK_EQUAL(r.summary, "one"); },
                [](caf::error&) { CAF_FAIL("first job failed"); });
  finish_fold("two");
  second.receive([](fold_result& r) { CAF_CHECK_EQUAL(r.summary, "two"); },
                 [](caf::error&) { CAF_FAIL("second job failed"); });
}

CAF_TEST(a failing worker error reaches the caller and frees the worker) {
  auto first = submit("first");
  auto second = submit("second");
  sched.run();
  fail_fold();
  bool failed = false;
  first.receive([](fold_result&) { CAF_FAIL("expected an error"); },
                [&](caf::error&) { failed = true; });
  CAF_CHECK(failed);
  CAF_CHECK_EQUAL(summarizer_state().held.size(), 1u);
  finish_fold("two");
  second.receive([](fold_result& r) { CAF_CHECK_EQUAL(r.summary, "two"); },
                 [](caf::error&) { CAF_FAIL("second job failed"); });
}

CAF_TEST(a queued job whose requester stopped waiting never runs) {
  auto first = submit("first");
  auto second = submit("second", 1000);
  sched.run();
  advance_time(std::chrono::milliseconds{1500});
  sched.run();
  finish_fold("one");
  // The worker came free, and the waiting job was dropped, not started.
  CAF_CHECK(summarizer_state().held.empty());
  bool dropped = false;
  second.receive([](fold_result&) { CAF_FAIL("an expired job ran"); },
                 [&](caf::error&) { dropped = true; });
  CAF_CHECK(dropped);
  // Its place in the queue is free again.
  auto third = submit("third");
  sched.run();
  CAF_CHECK_EQUAL(summarizer_state().held.size(), 1u);
  finish_fold("three");
  third.receive([](fold_result& r) { CAF_CHECK_EQUAL(r.summary, "three"); },
                [](caf::error&) { CAF_FAIL("third job failed"); });
  first.receive([](fold_result&) {}, [](caf::error&) {});
}

CAF_TEST(the extractive worker summarizes) {
  auto worker = sys.spawn(extractive_summarizer, extractive_options{});
  fold_job job{"s", std::string{"Earlier they discussed Bogota."},
               {{1, "Human", "Which salsa clubs in Cali are the best?"}}};
  auto result = ask<fold_result>(worker, summarize_atom::value, job);
  CAF_REQUIRE(result);
  CAF_CHECK_NOT_EQUAL(result->summary.find("salsa"), std::string::npos);
  CAF_CHECK_EQUAL(result->tokens_used, 0u);
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
}

CAF_TEST_FIXTURE_SCOPE_END()
