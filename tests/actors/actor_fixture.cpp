#define CAF_SUITE actor_fixture
#include "actor_fixture.hpp"

#include <algorithm>

namespace motorhead::testing {

persistence_actor::behavior_type fake_store(fake_store_pointer self) {
  auto unavailable = [] {
    return make_error(service_errc::storage_unavailable, "fake store is down");
  };
  auto fenced = [] {
    return make_error(service_errc::fenced, "FENCED newer owner");
  };
  return {
    [=](load_atom, const std::string& id) -> caf::result<session_snapshot> {
      if (self->state.down)
        return unavailable();
      ++self->state.loads;
      auto& session = self->state.sessions[id];
      ++session.epoch;
      return session;
    },
    [=](append_atom, const std::string& id,
        store::append_change& change) -> caf::result<ok_atom> {
      if (self->state.down)
        return unavailable();
      auto& session = self->state.sessions[id];
      if (session.epoch != change.epoch)
        return fenced();
      for (auto& msg : change.messages) {
        session.messages.push_back(msg);
        if (change.archive)
          self->state.archives[id].messages.push_back(msg);
      }
      if (change.context)
        session.context = change.context;
      session.next_seq = change.next_seq;
      session.namespaces = change.namespaces;
      return ok_atom::value;
    },
    [=](fold_atom, const std::string& id,
        store::fold_change& change) -> caf::result<ok_atom> {
      if (self->state.down)
        return unavailable();
      auto& session = self->state.sessions[id];
      if (session.epoch != change.epoch)
        return fenced();
      auto& msgs = session.messages;
      msgs.erase(std::remove_if(msgs.begin(), msgs.end(),
                                [&](const stored_message& msg) {
                                  return msg.seq <= change.covered_through;
                                }),
                 msgs.end());
      session.context = change.summary;
      session.tokens += change.tokens_used;
      return ok_atom::value;
    },
    [=](erase_atom, const std::string& id, std::vector<std::string>&,
        uint64_t epoch) -> caf::result<ok_atom> {
      if (self->state.down)
        return unavailable();
      auto& session = self->state.sessions[id];
      if (session.epoch != epoch)
        return fenced();
      session = session_snapshot{};
      session.epoch = epoch;
      self->state.archives.erase(id);
      return ok_atom::value;
    },
    [=](list_atom, session_page&) -> caf::result<std::vector<std::string>> {
      std::vector<std::string> ids;
      for (auto& entry : self->state.sessions)
        ids.push_back(entry.first);
      return ids;
    },
    [=](ping_atom) -> caf::result<ok_atom> {
      if (self->state.down)
        return unavailable();
      return ok_atom::value;
    },
    [=](archive_atom, const std::string& id) -> caf::result<session_archive> {
      if (self->state.down)
        return unavailable();
      return self->state.archives[id];
    },
    [=](vectors_atom, const std::string& id, store::vector_batch& batch,
        bool all_embedded) -> caf::result<ok_atom> {
      if (self->state.down)
        return unavailable();
      self->state.all_embedded_flags.push_back(all_embedded);
      if (self->state.sessions[id].epoch != batch.epoch)
        return fenced();
      auto& archive = self->state.archives[id];
      for (auto& v : batch.vectors)
        archive.vectors.push_back(std::move(v));
      archive.embedding_model = batch.model;
      return ok_atom::value;
    },
    [=](pending_atom, uint32_t) -> std::vector<std::string> { return {}; },
    [=](rate_atom, uint64_t, uint64_t, uint64_t) -> int64_t { return 0; },
    [=](flush_atom) {},
  };
}

namespace {

template <class Answer>
void answer_oldest(fake_summarizer_pointer self, Answer answer) {
  auto& held = self->state.held;
  CAF_REQUIRE(!held.empty());
  auto job = std::move(held.front());
  held.erase(held.begin());
  job.promise.deliver(std::move(answer));
}

} // namespace

fake_summarizer_actor::behavior_type
fake_summarizer(fake_summarizer_pointer self) {
  return {
    [=](summarize_atom, fold_job& job) {
      auto rp = self->make_response_promise<fold_result>();
      self->state.held.push_back({std::move(job), rp});
      return rp;
    },
    [=](finish_atom, fold_result& result) {
      answer_oldest(self, std::move(result));
    },
    [=](fail_atom) {
      while (!self->state.held.empty())
        answer_oldest(self, make_error(service_errc::overloaded,
                                       "provider down"));
    },
  };
}

actor_fixture::actor_fixture() {
  limits.max_window = 4;
  limits.idle = std::chrono::seconds{30};
  store = sys.spawn(fake_store);
  summarizer = sys.spawn(fake_summarizer);
  registry = sys.spawn(session_registry,
                       session_peers{store, summarizer, {}, {}}, limits);
  sched.run();
}

actor_fixture::~actor_fixture() {
  self->send(summarizer, fail_atom::value);
  for (const caf::actor_addr& addr :
       {registry.address(), summarizer.address(), store.address()})
    caf::anon_send_exit(addr, caf::exit_reason::user_shutdown);
  sched.run();
}

caf::expected<memory_view> actor_fixture::get(const std::string& id) {
  return ask<memory_view>(registry, memory_get_atom::value, id);
}

caf::expected<ok_atom> actor_fixture::post(const std::string& id,
                                           std::vector<chat_message> messages,
                                           std::optional<std::string> context,
                                           std::optional<std::string> ns) {
  append_request request{std::move(messages), std::move(context),
                         std::move(ns)};
  return ask<ok_atom>(registry, memory_append_atom::value, id,
                      std::move(request));
}

fake_store_state& actor_fixture::store_state() {
  return deref<caf::stateful_actor<fake_store_state,
                                   persistence_actor::base>>(store)
    .state;
}

fake_summarizer_state& actor_fixture::summarizer_state() {
  return deref<caf::stateful_actor<fake_summarizer_state,
                                   fake_summarizer_actor::base>>(summarizer)
    .state;
}

void actor_fixture::finish_fold(const std::string& summary, uint64_t tokens) {
  self->send(summarizer, finish_atom::value, fold_result{summary, tokens});
  sched.run();
}

void actor_fixture::fail_fold() {
  self->send(summarizer, fail_atom::value);
  sched.run();
}

std::vector<chat_message> numbered_messages(int first, int last) {
  std::vector<chat_message> result;
  for (int i = first; i <= last; ++i)
    result.push_back({i % 2 == 1 ? "Human" : "AI", "m" + std::to_string(i)});
  return result;
}

std::vector<std::string> contents(const memory_view& view) {
  std::vector<std::string> result;
  for (const auto& msg : view.messages)
    result.push_back(msg.content);
  return result;
}

} // namespace motorhead::testing
