#define CAF_SUITE session
#include "actor_fixture.hpp"

using namespace motorhead;
using namespace motorhead::testing;
using strings = std::vector<std::string>;

CAF_TEST_FIXTURE_SCOPE(session_tests, actor_fixture)

CAF_TEST(an unknown session is empty) {
  auto view = get("nobody");
  CAF_REQUIRE(view);
  CAF_CHECK(view->messages.empty());
  CAF_CHECK(!view->context);
  CAF_CHECK_EQUAL(view->tokens, 0u);
}

CAF_TEST(a read of a session that exists nowhere claims nothing) {
  CAF_REQUIRE(get("nobody"));
  CAF_CHECK_EQUAL(store_state().claims, 0u);
  CAF_CHECK_EQUAL(store_state().sessions["nobody"].epoch, 0u);
  // Its first write claims it, once.
  CAF_REQUIRE(post("nobody", numbered_messages(1, 1)));
  CAF_REQUIRE(post("nobody", numbered_messages(2, 2)));
  CAF_CHECK_EQUAL(store_state().claims, 1u);
  CAF_CHECK_EQUAL(store_state().sessions["nobody"].messages.size(), 2u);
}

CAF_TEST(the first write numbers after what another node wrote since the read) {
  CAF_REQUIRE(get("s")); // empty here, not claimed
  // Another node writes meanwhile, under its own claim.
  auto& elsewhere = store_state().sessions["s"];
  elsewhere.epoch = 7;
  elsewhere.messages = {{1, "Human", "theirs 1"}, {2, "AI", "theirs 2"}};
  elsewhere.next_seq = 3;
  store_state().written.insert("s");
  CAF_REQUIRE(post("s", numbered_messages(3, 3)));
  auto& stored = store_state().sessions["s"].messages;
  CAF_REQUIRE_EQUAL(stored.size(), 3u);
  CAF_CHECK_EQUAL(stored[2].seq, 3u);
  CAF_CHECK_EQUAL(stored[2].content, "m3");
  auto view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (strings{"m3", "theirs 2", "theirs 1"}));
}

CAF_TEST(a message outside the session interface is answered with an error) {
  // Sessions share one empty behavior and dispatch in their default
  // handler (actors/shared_behavior.hpp): what no handler takes is refused,
  // and the session goes on.
  auto setup = std::make_shared<const session_setup>(
    session_setup{limits, {store, summarizer, {}}, nullptr, nullptr});
  auto direct = sys.spawn(motorhead::session, std::string{"direct"}, setup);
  auto refused = ask<ok_atom>(caf::actor_cast<caf::actor>(direct),
                              std::string{"not a session message"});
  CAF_REQUIRE(!refused);
  CAF_CHECK_EQUAL(refused.error(), caf::make_error(caf::sec::unexpected_message));
  auto view = ask<memory_view>(direct, memory_get_atom::value, access_scope{});
  CAF_REQUIRE(view);
  CAF_CHECK(view->messages.empty());
  // A handler without a result answers a request with an empty message.
  auto folded = self->request(direct, caf::infinite, fold_atom::value);
  sched.run();
  auto answered = false;
  folded.receive([&] { answered = true; },
                 [](caf::error& err) { CAF_FAIL("refused: " << err); });
  CAF_CHECK(answered);
  caf::anon_send_exit(direct, caf::exit_reason::user_shutdown);
  sched.run();
}

CAF_TEST(messages come back newest first) {
  CAF_REQUIRE(post("s", numbered_messages(1, 2)));
  CAF_REQUIRE(post("s", numbered_messages(3, 3)));
  auto view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (strings{"m3", "m2", "m1"}));
  CAF_CHECK_EQUAL(view->messages[0].role, "Human");
}

CAF_TEST(GET returns at most the window while a fold is pending) {
  CAF_REQUIRE(post("s", numbered_messages(1, 5)));
  CAF_REQUIRE_EQUAL(summarizer_state().held.size(), 1u);
  auto view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (strings{"m5", "m4", "m3", "m2"}));
}

CAF_TEST(a fold covers the oldest messages and leaves half a window) {
  CAF_REQUIRE(post("s", numbered_messages(1, 5)));
  auto& job = summarizer_state().held.at(0).job;
  CAF_CHECK_EQUAL(job.session_id, "s");
  CAF_CHECK_EQUAL(job.lines.size(), 3u);
  CAF_CHECK_EQUAL(job.lines.front().content, "m1");
  CAF_CHECK_EQUAL(job.lines.back().content, "m3");
  CAF_CHECK(!job.previous_summary);
  finish_fold("summary of m1-m3", 42);
  auto view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (strings{"m5", "m4"}));
  CAF_CHECK_EQUAL(view->context, std::string{"summary of m1-m3"});
  CAF_CHECK_EQUAL(view->tokens, 42u);
  CAF_CHECK_EQUAL(store_state().sessions["s"].messages.size(), 2u);
  CAF_CHECK_EQUAL(store_state().sessions["s"].context,
                  std::string{"summary of m1-m3"});
}

CAF_TEST(messages that arrive during a fold are kept) {
  CAF_REQUIRE(post("s", numbered_messages(1, 5)));
  CAF_REQUIRE(post("s", numbered_messages(6, 7)));
  CAF_REQUIRE(post("s", numbered_messages(8, 8)));
  // At most one fold in flight, however far the session overflows.
  CAF_CHECK_EQUAL(summarizer_state().held.size(), 1u);
  finish_fold("first");
  auto view = get("s");
  CAF_REQUIRE(view);
  // m1..m3 folded; m4..m8 still there, and a second fold is due.
  CAF_CHECK_EQUAL(store_state().sessions["s"].messages.size(), 5u);
  CAF_REQUIRE_EQUAL(summarizer_state().held.size(), 1u);
  auto& second = summarizer_state().held.at(0).job;
  CAF_CHECK_EQUAL(second.previous_summary, std::string{"first"});
  CAF_CHECK_EQUAL(second.lines.front().content, "m4");
  CAF_CHECK_EQUAL(second.lines.back().content, "m6");
  finish_fold("second", 7);
  view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (strings{"m8", "m7"}));
  CAF_CHECK_EQUAL(view->context, std::string{"second"});
  CAF_CHECK_EQUAL(view->tokens, 7u);
}

CAF_TEST(a failed fold keeps the messages and is retried with backoff) {
  CAF_REQUIRE(post("s", numbered_messages(1, 5)));
  fail_fold();
  CAF_CHECK(summarizer_state().held.empty());
  auto view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(view->messages.size(), 4u);
  CAF_CHECK_EQUAL(store_state().sessions["s"].messages.size(), 5u);
  advance_time(limits.first_retry_delay);
  sched.run();
  CAF_REQUIRE_EQUAL(summarizer_state().held.size(), 1u);
  fail_fold();
  // The second failure waits twice as long.
  advance_time(limits.first_retry_delay);
  sched.run();
  CAF_CHECK(summarizer_state().held.empty());
  advance_time(limits.first_retry_delay);
  sched.run();
  CAF_REQUIRE_EQUAL(summarizer_state().held.size(), 1u);
  finish_fold("at last");
  view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(view->context, std::string{"at last"});
  CAF_CHECK_EQUAL(contents(*view), (strings{"m5", "m4"}));
}

CAF_TEST(a context posted during a fold wins over the fold) {
  CAF_REQUIRE(post("s", numbered_messages(1, 5)));
  CAF_REQUIRE(post("s", {}, std::string{"from the client"}));
  finish_fold("stale summary");
  // The stale result is dropped and the fold starts again from the new one.
  CAF_REQUIRE_EQUAL(summarizer_state().held.size(), 1u);
  CAF_CHECK_EQUAL(summarizer_state().held.at(0).job.previous_summary,
                  std::string{"from the client"});
  auto view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(view->context, std::string{"from the client"});
  finish_fold("fresh summary");
  view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(view->context, std::string{"fresh summary"});
}

CAF_TEST(delete clears the session and drops a fold under way) {
  CAF_REQUIRE(post("s", numbered_messages(1, 5)));
  auto deleted = ask<ok_atom>(registry, memory_delete_atom::value,
                              std::string{"s"}, erase_request{}, access_scope{});
  CAF_REQUIRE(deleted);
  finish_fold("must not come back");
  auto view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK(view->messages.empty());
  CAF_CHECK(!view->context);
  CAF_CHECK(store_state().sessions["s"].messages.empty());
  CAF_CHECK(!store_state().sessions["s"].context);
}

CAF_TEST(a write refused by the fence stops the stale owner) {
  CAF_REQUIRE(post("s", numbered_messages(1, 1)));
  // Another owner claims the session, as a node taking it over would.
  ++store_state().sessions["s"].epoch;
  auto refused = post("s", numbered_messages(2, 2));
  CAF_REQUIRE(!refused);
  CAF_CHECK_EQUAL(refused.error().code(),
                  static_cast<uint8_t>(service_errc::fenced));
  // The next request finds a fresh actor that claims the session anew.
  CAF_REQUIRE(post("s", numbered_messages(3, 3)));
  auto view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (strings{"m3", "m1"}));
  CAF_CHECK_EQUAL(store_state().loads, 2u);
}

CAF_TEST(a store failure answers an error and changes nothing) {
  CAF_REQUIRE(post("s", numbered_messages(1, 1)));
  store_state().down = true;
  auto failed = post("s", numbered_messages(2, 2));
  CAF_REQUIRE(!failed);
  CAF_CHECK_EQUAL(failed.error().category(), service_error_category());
  store_state().down = false;
  auto view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (strings{"m1"}));
}

CAF_TEST(a cold session loads from the store once) {
  store_state().sessions["warm"].messages = {{1, "Human", "hello"}};
  store_state().sessions["warm"].next_seq = 2;
  store_state().sessions["warm"].context = std::string{"earlier"};
  auto view = get("warm");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (strings{"hello"}));
  CAF_CHECK_EQUAL(view->context, std::string{"earlier"});
  CAF_REQUIRE(post("warm", numbered_messages(2, 2)));
  CAF_CHECK_EQUAL(store_state().loads, 1u);
  CAF_CHECK_EQUAL(store_state().sessions["warm"].messages.back().seq, 2u);
}

CAF_TEST(a session that fails to load answers an error and loads later) {
  store_state().down = true;
  CAF_CHECK(!get("s"));
  store_state().down = false;
  CAF_CHECK(get("s"));
}

CAF_TEST(namespaces accumulate) {
  CAF_REQUIRE(post("s", numbered_messages(1, 1), {}, std::string{"a"}));
  CAF_REQUIRE(post("s", numbered_messages(2, 2), {}, std::string{"b"}));
  CAF_REQUIRE(post("s", numbered_messages(3, 3), {}, std::string{"a"}));
  CAF_CHECK_EQUAL(store_state().sessions["s"].namespaces, (strings{"a", "b"}));
}

// -- races with the store: writes in flight together ---------------------------

namespace {

append_request append_of(std::vector<chat_message> messages,
                         std::optional<std::string> context = {},
                         std::optional<std::string> ns = {}) {
  return {std::move(messages), std::move(context), std::move(ns)};
}

} // namespace

CAF_TEST(a fold never overwrites a context acknowledged while it was due) {
  CAF_REQUIRE(post("s", numbered_messages(1, 4)));
  hold_store();
  auto overflow = post_later("s", append_of(numbered_messages(5, 5)));
  auto replace = post_later("s", append_of({}, std::string{"NEW"}));
  sched.run();
  release_store();
  require_ok(overflow);
  require_ok(replace);
  // The fold starts only once the context is in, and extends it.
  CAF_REQUIRE_EQUAL(summarizer_state().held.size(), 1u);
  CAF_CHECK_EQUAL(summarizer_state().held.at(0).job.previous_summary,
                  std::string{"NEW"});
  finish_fold("NEW and m1-m3");
  CAF_CHECK_EQUAL(store_state().sessions["s"].context,
                  std::string{"NEW and m1-m3"});
  auto view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(view->context, std::string{"NEW and m1-m3"});
}

CAF_TEST(nothing survives a DELETE sent while an overflowing POST was in flight) {
  CAF_REQUIRE(post("s", {{"Human", "my password is hunter2"}}));
  CAF_REQUIRE(post("s", numbered_messages(2, 4)));
  hold_store();
  auto overflow = post_later("s", append_of(numbered_messages(5, 5)));
  auto deleted = delete_later("s");
  sched.run();
  release_store();
  require_ok(deleted);
  require_ok(overflow);
  CAF_CHECK(summarizer_state().held.empty());
  check_erased("s");
}

CAF_TEST(a fold committed before a DELETE lands first and is then erased) {
  CAF_REQUIRE(post("s", numbered_messages(1, 5)));
  hold_store();
  finish_fold("summary of m1-m3");
  auto deleted = delete_later("s");
  sched.run();
  release_store();
  require_ok(deleted);
  check_erased("s");
}

CAF_TEST(a write whose answer was lost makes the session reload) {
  CAF_REQUIRE(post("s", numbered_messages(1, 2)));
  store_state().lose_next_answer = true;
  auto unknown = post("s", numbered_messages(3, 3));
  CAF_REQUIRE(!unknown);
  CAF_CHECK_EQUAL(unknown.error().code(),
                  static_cast<uint8_t>(service_errc::write_unknown));
  // The store has the message; the session serves what the store holds.
  auto view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (strings{"m3", "m2", "m1"}));
  CAF_CHECK_EQUAL(store_state().loads, 2u);
  // A later fold covers it: nothing is dropped unsummarized.
  CAF_REQUIRE(post("s", numbered_messages(4, 5)));
  CAF_REQUIRE_EQUAL(summarizer_state().held.size(), 1u);
  auto& lines = summarizer_state().held.at(0).job.lines;
  CAF_REQUIRE_EQUAL(lines.size(), 3u);
  CAF_CHECK_EQUAL(lines[2].content, "m3");
  finish_fold("m1-m3");
  CAF_CHECK_EQUAL(store_state().sessions["s"].messages.size(), 2u);
}

CAF_TEST(a session reloads after a lost answer even without requests) {
  CAF_REQUIRE(post("s", numbered_messages(1, 4)));
  store_state().lose_next_answer = true;
  CAF_REQUIRE(!post("s", numbered_messages(5, 5)));
  CAF_CHECK(summarizer_state().held.empty());
  advance_time(limits.first_retry_delay);
  sched.run();
  // Reloaded by the fold retry, which then folds what Redis holds.
  CAF_CHECK_EQUAL(store_state().loads, 2u);
  CAF_REQUIRE_EQUAL(summarizer_state().held.size(), 1u);
  CAF_CHECK_EQUAL(summarizer_state().held.at(0).job.lines.back().content, "m3");
}

CAF_TEST(a fold refused as stale makes the session reload) {
  CAF_REQUIRE(post("s", numbered_messages(1, 5)));
  // Redis lost the oldest message behind the session's back.
  auto& stored = store_state().sessions["s"].messages;
  stored.erase(stored.begin());
  finish_fold("summary of m1-m3");
  CAF_CHECK(!store_state().sessions["s"].context);
  CAF_CHECK_EQUAL(store_state().sessions["s"].messages.size(), 4u);
  auto view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (strings{"m5", "m4", "m3", "m2"}));
  CAF_CHECK_EQUAL(store_state().loads, 2u);
}

CAF_TEST(a POST sent after a DELETE keeps only its own namespace) {
  CAF_REQUIRE(post("s", numbered_messages(1, 1), {}, std::string{"old"}));
  hold_store();
  auto deleted = delete_later("s");
  auto posted = post_later("s", append_of(numbered_messages(2, 2), {},
                                          std::string{"new"}));
  sched.run();
  release_store();
  require_ok(deleted);
  require_ok(posted);
  CAF_CHECK_EQUAL(store_state().sessions["s"].namespaces, (strings{"new"}));
  // A later POST keeps it so.
  CAF_REQUIRE(post("s", numbered_messages(3, 3)));
  CAF_CHECK_EQUAL(store_state().sessions["s"].namespaces, (strings{"new"}));
}

CAF_TEST(a fold of meaningless lines leaves a missing context null) {
  CAF_REQUIRE(post("s", numbered_messages(1, 5)));
  finish_fold("");
  auto view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK(!view->context);
  CAF_CHECK(!store_state().sessions["s"].context);
  CAF_CHECK_EQUAL(contents(*view), (strings{"m5", "m4"}));
}

namespace {

chat_message with_id(std::string content, std::string id) {
  chat_message msg{"Human", std::move(content)};
  msg.details.id = std::move(id);
  return msg;
}

bool forbidden_answer(const caf::error& err) {
  return is_service_error(err, service_errc::forbidden);
}

} // namespace

CAF_TEST(a count of tokens the HTTP front made is kept) {
  // The front counts long messages off its I/O thread; the session does
  // not count them again (this fixture's sessions have no tokenizer).
  chat_message counted{"Human", "a long message"};
  counted.details.token_count = 7;
  CAF_REQUIRE(post("s", {counted}));
  auto view = get("s");
  CAF_REQUIRE(view);
  CAF_REQUIRE_EQUAL(view->messages.size(), 1u);
  CAF_CHECK_EQUAL(view->messages[0].details.token_count, 7u);
}

CAF_TEST(a retry or a refused post under another namespace changes none) {
  access_scope tenant_a{true, {"a"}, {}};
  access_scope tenant_b{true, {"b"}, {}};
  auto post_as = [&](std::vector<chat_message> messages, std::string ns,
                     access_scope scope) {
    return ask<ok_atom>(registry, memory_append_atom::value, std::string{"s"},
                        append_request{std::move(messages), {}, ns}, scope);
  };
  CAF_REQUIRE(post_as({with_id("m1", "i1")}, "a", tenant_a));
  // An unscoped key sends the POST again, under b: a retry, answered ok.
  CAF_CHECK(post_as({with_id("m1", "i1")}, "b", access_scope{}));
  // And repeats part of it under b: refused.
  auto conflict = post_as({with_id("m1", "i1"), with_id("m2", "i2")}, "b",
                          access_scope{});
  CAF_CHECK(!conflict
            && is_service_error(conflict.error(), service_errc::id_conflict));
  CAF_CHECK_EQUAL(store_state().sessions["s"].namespaces, (strings{"a"}));
  auto seen_by_b = ask<memory_view>(registry, memory_get_atom::value,
                                    std::string{"s"}, tenant_b);
  CAF_CHECK(!seen_by_b && forbidden_answer(seen_by_b.error()));
  // The next POST of its tenant leaves the list as it was.
  CAF_REQUIRE(post_as({with_id("m3", "i3")}, "a", tenant_a));
  CAF_CHECK_EQUAL(store_state().sessions["s"].namespaces, (strings{"a"}));
}

CAF_TEST(while a write fills an empty session only its namespace may join) {
  access_scope tenant_a{true, {"a"}, {}};
  access_scope tenant_b{true, {"b"}, {}};
  auto deleted = delete_later("s"); // claimed, and empty
  sched.run();
  require_ok(deleted);
  hold_store();
  auto post = send_request(memory_append_atom::value, std::string{"s"},
                           append_request{numbered_messages(1, 1), {}, "a"},
                           access_scope{});
  sched.run();
  auto seen_by_b = send_request(memory_get_atom::value, std::string{"s"},
                                tenant_b);
  auto seen_by_a = send_request(memory_get_atom::value, std::string{"s"},
                                tenant_a);
  sched.run();
  seen_by_b.receive([](encoded_memory&) { CAF_FAIL("b got in"); },
                    [](caf::error& err) { CAF_CHECK(forbidden_answer(err)); });
  seen_by_a.receive(
    [](encoded_memory& memory) {
      CAF_CHECK(decode_memory(memory).messages.empty());
    },
    [](caf::error& err) { CAF_FAIL("a was refused: " << err); });
  release_store();
  require_ok(post);
  auto view = ask<memory_view>(registry, memory_get_atom::value,
                               std::string{"s"}, tenant_a);
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (strings{"m1"}));
}

CAF_TEST(a key scoped to namespaces reaches only their sessions) {
  access_scope tenant_a{true, {"a"}, {}};
  access_scope tenant_b{true, {"b"}, {}};
  auto forbidden = [](const auto& answer) {
    return !answer && is_service_error(answer.error(), service_errc::forbidden);
  };
  // A session that holds nothing may be taken by either tenant.
  CAF_CHECK(ask<memory_view>(registry, memory_get_atom::value,
                             std::string{"s"}, tenant_b));
  CAF_REQUIRE(ask<ok_atom>(registry, memory_append_atom::value,
                           std::string{"s"},
                           append_request{numbered_messages(1, 2), {}, "a"},
                           tenant_a));
  CAF_CHECK(ask<memory_view>(registry, memory_get_atom::value,
                             std::string{"s"}, tenant_a));
  // Tenant b can neither read, write, search nor delete it.
  CAF_CHECK(forbidden(ask<memory_view>(registry, memory_get_atom::value,
                                       std::string{"s"}, tenant_b)));
  CAF_CHECK(forbidden(ask<ok_atom>(
    registry, memory_append_atom::value, std::string{"s"},
    append_request{numbered_messages(3, 3), {}, "b"}, tenant_b)));
  CAF_CHECK(forbidden(ask<ok_atom>(registry, memory_delete_atom::value,
                                   std::string{"s"}, erase_request{}, tenant_b)));
  CAF_CHECK(forbidden(ask<std::vector<retrieval_hit>>(
    registry, retrieve_atom::value, std::string{"s"},
    retrieval_query{"m1", 10, retrieval_filter{}, query_terms("m1")},
    tenant_b)));
  auto view = get("s");
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (strings{"m2", "m1"}));
  CAF_CHECK_EQUAL(store_state().sessions["s"].namespaces, (strings{"a"}));
  // Its own tenant deletes it; then it holds nothing, for anyone.
  CAF_REQUIRE(ask<ok_atom>(registry, memory_delete_atom::value,
                           std::string{"s"}, erase_request{}, tenant_a));
  CAF_CHECK(ask<memory_view>(registry, memory_get_atom::value,
                             std::string{"s"}, tenant_b));
}

CAF_TEST_FIXTURE_SCOPE_END()
