// A deterministic actor system with a fake store and a fake summarizer whose
// answers the test controls.
#pragma once

// dsl.hpp of CAF 0.17.6 uses FAIL without defining it.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "actors/protocol.hpp"
#include "actors/session_registry.hpp"
#include "actors/summarizer_pool.hpp"

namespace motorhead::testing {

struct test_config : caf::actor_system_config {
  test_config() { add_protocol_types(*this); }
};

using release_atom = caf::atom_constant<caf::atom("release")>;

/// An in-memory stand-in for Redis behind the persistence protocol, with
/// the scripts' rules: the fence, exact folds onto their own summary
/// generation, DELETE keeping only the claim.
struct fake_store_state {
  std::map<std::string, session_snapshot> sessions;
  std::map<std::string, session_archive> archives;
  std::map<std::string, session_info> infos;
  /// The message ids each session stored (a POST repeating all of them is
  /// a retry, some of them a conflict).
  std::map<std::string, std::set<std::string>> ids;
  /// The cluster's membership table, its rows' renewals kept in them, and
  /// when (ms on the test clock) each member suspected another, by
  /// (suspect, suspecter).
  store::membership_table members;
  std::map<std::pair<std::string, std::string>, int64_t> suspicions;
  /// The run id of the Redis process it stands in for: a test changes it
  /// to play a restart or a failover.
  std::string run_id = "first";
  /// Sessions with a write stored (a load claims only those).
  std::set<std::string> written;
  std::size_t claims = 0; // claims of sessions that existed nowhere
  std::vector<bool> all_embedded_flags; // of every vectors write, in order
  bool down = false;
  std::size_t loads = 0;
  /// While set, requests wait, in order, until the test releases them, as
  /// they would behind a slow Redis.
  bool holding = false;
  std::deque<std::function<void()>> held;
  /// The next write is applied but answered as if Redis had not replied.
  bool lose_next_answer = false;
  static inline const char* name = "fake_store";
};

/// The persistence protocol plus the test's control: (release, n) answers
/// the n oldest held requests.
using fake_store_actor
  = persistence_actor::extend<caf::reacts_to<release_atom, std::size_t>>;

using fake_store_pointer = fake_store_actor::stateful_pointer<fake_store_state>;

fake_store_actor::behavior_type fake_store(fake_store_pointer self);

/// Holds every job until the test answers it.
struct fake_summarizer_state {
  struct held_job {
    fold_job job;
    caf::typed_response_promise<fold_result> promise;
  };
  std::vector<held_job> held;
  static inline const char* name = "fake_summarizer";
};

using finish_atom = caf::atom_constant<caf::atom("finish")>;
using fail_atom = caf::atom_constant<caf::atom("fail")>;

/// A summarizer plus the test's controls. A held promise is answered from
/// inside the actor: CAF's test coordinator leaves a dangling execution
/// unit behind, so delivering from the test's own stack would crash.
using fake_summarizer_actor = summarizer_actor::extend<
  caf::reacts_to<finish_atom, fold_result>, caf::reacts_to<fail_atom>>;

using fake_summarizer_pointer
  = fake_summarizer_actor::stateful_pointer<fake_summarizer_state>;

fake_summarizer_actor::behavior_type
fake_summarizer(fake_summarizer_pointer self);

/// What a GET's JSON shows, read back: the messages, newest first, with
/// their details, the context and the tokens. Throws (failing the test)
/// when the answer is not a JSON object.
struct memory_view {
  std::vector<chat_message> messages;
  std::optional<std::string> context;
  uint64_t tokens = 0;
};

memory_view decode_memory(const encoded_memory& memory);

struct actor_fixture : test_coordinator_fixture<test_config> {
  actor_fixture();
  ~actor_fixture() override;

  /// Sends a request, runs every actor until idle (no timeouts fire) and
  /// returns the answer or the error. A memory_view is asked for as the
  /// JSON a GET is answered with, and read back from it.
  template <class T, class Handle, class... Ts>
  caf::expected<T> ask(const Handle& handle, Ts... xs) {
    if constexpr (std::is_same_v<T, memory_view>) {
      auto answer = ask<encoded_memory>(handle, std::move(xs)...);
      if (!answer)
        return answer.error();
      return decode_memory(*answer);
    } else {
      auto response = self->request(handle, caf::infinite, std::move(xs)...);
      sched.run();
      caf::expected<T> result{caf::sec::unexpected_response};
      response.receive([&](T& value) { result = std::move(value); },
                       [&](caf::error& err) { result = std::move(err); });
      return result;
    }
  }

  /// Sends a request without running the actors or waiting for its answer.
  template <class... Ts>
  auto send_request(Ts... xs) {
    return self->request(registry, caf::infinite, std::move(xs)...);
  }

  /// A POST and a DELETE sent so, to be answered later.
  auto post_later(const std::string& id, append_request request) {
    return send_request(memory_append_atom::value, id, std::move(request),
                        access_scope{});
  }
  auto delete_later(const std::string& id) {
    return send_request(memory_delete_atom::value, id, erase_request{},
                        access_scope{});
  }

  /// Fails the test unless the request sent with `handle` was answered ok.
  template <class Handle>
  void require_ok(Handle& handle) {
    handle.receive([](ok_atom) {},
                   [](caf::error& err) { CAF_FAIL("refused: " << err); });
  }

  caf::expected<memory_view> get(const std::string& id);

  /// Checks that neither the session nor the store holds anything of `id`.
  void check_erased(const std::string& id);
  caf::expected<ok_atom> post(const std::string& id,
                              std::vector<chat_message> messages,
                              std::optional<std::string> context = {},
                              std::optional<std::string> ns = {});

  fake_store_state& store_state();
  fake_summarizer_state& summarizer_state();

  /// Holds the store's requests from now on, until `release_store`.
  void hold_store();
  /// Answers the `count` oldest held requests (all by default) and stops
  /// holding once none is left.
  void release_store(std::size_t count = std::numeric_limits<std::size_t>::max());

  /// Answers the oldest held fold job with `summary`.
  void finish_fold(const std::string& summary, uint64_t tokens = 0);
  void fail_fold();

  session_limits limits;
  session_cache_policy cache{std::chrono::seconds{30}, 0};
  fake_store_actor store;
  fake_summarizer_actor summarizer;
  registry_actor registry;
};

/// Messages "m1".."mN" with alternating roles.
std::vector<chat_message> numbered_messages(int first, int last);

/// The contents of a view's messages, newest first.
std::vector<std::string> contents(const memory_view& view);

} // namespace motorhead::testing
