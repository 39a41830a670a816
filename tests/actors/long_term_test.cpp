#define CAF_SUITE long_term_memory
#include "actor_fixture.hpp"

using namespace motorhead;
using namespace motorhead::testing;

namespace {

/// Answers with a vector per text, or fails while `failing` is set.
struct fake_embedder_state {
  bool failing = false;
  std::size_t calls = 0;
  static inline const char* name = "fake_embedder";
};

embedder_actor::behavior_type
fake_embedder(embedder_actor::stateful_pointer<fake_embedder_state> self) {
  return {
    [=](embed_atom, const std::vector<std::string>& texts)
      -> caf::result<embedding_result> {
      ++self->state.calls;
      if (self->state.failing)
        return make_error(service_errc::provider_failed, "HTTP 500: scripted");
      embedding_result result{{}, "fake-embedding", 0};
      for (const auto& text : texts)
        result.vectors.push_back({static_cast<float>(text.size()), 1, 0});
      return result;
    },
    [=](provider_reply_atom, uint64_t, http_result&) {},
    [=](provider_retry_atom, uint64_t) {},
  };
}

struct long_term_fixture : actor_fixture {
  long_term_fixture() {
    embedder = sys.spawn(fake_embedder);
    auto ltm_limits = limits;
    ltm_limits.long_term_memory = true;
    ltm_limits.embedding_batch = 2;
    memory = sys.spawn(session_registry,
                       session_setup{ltm_limits, {store, summarizer, embedder},
                                     nullptr, nullptr},
                       cache);
    sched.run();
  }

  ~long_term_fixture() override {
    for (const caf::actor_addr& addr : {memory.address(), embedder.address()})
      caf::anon_send_exit(addr, caf::exit_reason::user_shutdown);
    sched.run();
  }

  fake_embedder_state& embedder_state() {
    return deref<caf::stateful_actor<fake_embedder_state, embedder_actor::base>>(
             embedder)
      .state;
  }

  std::vector<std::string> retrieve(const std::string& text) {
    auto hits = ask<std::vector<retrieval_hit>>(
      memory, retrieve_atom::value, std::string{"s"},
      retrieval_query{text, 10, retrieval_filter{}, query_terms(text)},
      access_scope{});
    CAF_REQUIRE(hits);
    std::vector<std::string> contents;
    for (const auto& hit : *hits)
      contents.push_back(hit.content);
    return contents;
  }

  caf::expected<ok_atom> post_ltm(std::vector<chat_message> messages) {
    return ask<ok_atom>(memory, memory_append_atom::value, std::string{"s"},
                        append_request{std::move(messages), {}, {}},
                        access_scope{});
  }

  embedder_actor embedder;
  registry_actor memory;
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(long_term_memory_tests, long_term_fixture)

CAF_TEST(every message is archived and embedded in batches) {
  CAF_REQUIRE(post_ltm(numbered_messages(1, 3)));
  auto& archive = store_state().archives["s"];
  CAF_CHECK_EQUAL(archive.messages.size(), 3u);
  // Three messages, batches of two: two calls.
  CAF_CHECK_EQUAL(embedder_state().calls, 2u);
  CAF_CHECK_EQUAL(archive.vectors.size(), 3u);
  CAF_CHECK_EQUAL(archive.embedding_model, "fake-embedding");
  // Only the last batch takes the session off the pending list.
  CAF_CHECK_EQUAL(store_state().all_embedded_flags, (std::vector<bool>{false, true}));
}

CAF_TEST(folded messages are still found) {
  CAF_REQUIRE(post_ltm(numbered_messages(1, 5)));
  finish_fold("summary");
  auto found = retrieve("m1");
  CAF_REQUIRE(!found.empty());
  CAF_CHECK_EQUAL(found.front(), "m1");
}

CAF_TEST(failed embeddings are retried later) {
  embedder_state().failing = true;
  CAF_REQUIRE(post_ltm(numbered_messages(1, 1)));
  CAF_CHECK(store_state().archives["s"].vectors.empty());
  embedder_state().failing = false;
  advance_time(limits.first_retry_delay);
  sched.run();
  CAF_CHECK_EQUAL(store_state().archives["s"].vectors.size(), 1u);
}

CAF_TEST(a failed query embedding falls back to bm25) {
  CAF_REQUIRE(post_ltm(numbered_messages(1, 2)));
  embedder_state().failing = true;
  CAF_CHECK_EQUAL(retrieve("m2"), (std::vector<std::string>{"m2"}));
}

CAF_TEST_FIXTURE_SCOPE_END()
