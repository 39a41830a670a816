#define CAF_SUITE actor_fixture
#include "actor_fixture.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/rapidjson.hpp"
#include "core/timestamp.hpp"

namespace motorhead::testing {

namespace {

caf::error unavailable() {
  return make_error(service_errc::storage_unavailable, "fake store is down");
}

caf::error fenced() {
  return make_error(service_errc::fenced, "FENCED newer owner");
}

caf::error stale(const std::string& why) {
  return make_error(service_errc::stale, "STALE " + why);
}

/// The test clock in ms, as Redis' clock stands in the membership table.
int64_t milliseconds_on(caf::actor_clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           clock.now().time_since_epoch())
    .count();
}

/// Writes `rows` into `table` at its next version, as the write script
/// does: each replaces the row of its id, keeping the version an active
/// row joined at; a row that is no longer active ended at the new version.
void write_member_rows(store::membership_table& table,
                       std::vector<store::member_row> rows, int64_t now_ms) {
  auto version = ++table.version;
  for (auto& row : rows) {
    row.changed_ms = now_ms;
    auto same = std::find_if(table.rows.begin(), table.rows.end(),
                             [&](const store::member_row& r) {
                               return r.id() == row.id();
                             });
    bool was_active = same != table.rows.end()
                      && same->status == store::member_status::active;
    row.joined = was_active ? same->joined : version;
    row.ended = row.status == store::member_status::active ? 0 : version;
    row.renewals = same != table.rows.end() ? same->renewals : 0;
    if (same != table.rows.end())
      *same = row;
    else
      table.rows.push_back(row);
  }
}

/// Runs `fn` (returning caf::expected<T>) now, or later in order when the
/// store holds its requests. A write whose answer is to be lost is applied
/// and answered with write_unknown.
template <class T, class Fn>
caf::result<T> serve(fake_store_pointer self, bool is_write, Fn fn) {
  auto rp = self->make_response_promise<T>();
  auto run = [self, rp, is_write, fn]() mutable {
    auto& st = self->state;
    if (st.down) {
      rp.deliver(unavailable());
      return;
    }
    caf::expected<T> answer = fn();
    if (is_write && st.lose_next_answer) {
      st.lose_next_answer = false;
      rp.deliver(make_error(service_errc::write_unknown, "no answer in time"));
    } else if (answer) {
      rp.deliver(std::move(*answer));
    } else {
      rp.deliver(answer.error());
    }
  };
  if (self->state.holding)
    self->state.held.push_back(std::move(run));
  else
    run();
  return rp;
}

caf::expected<ok_atom> apply_fold(session_snapshot& session,
                                  const store::fold_change& change) {
  if (session.epoch != change.epoch)
    return fenced();
  if (session.summary_generation != change.summary_generation)
    return stale("the summary was replaced");
  auto& msgs = session.messages;
  if (msgs.size() < change.seqs.size())
    return stale("the messages to fold are gone");
  for (std::size_t i = 0; i < change.seqs.size(); ++i)
    if (msgs[i].seq != change.seqs[i])
      return stale("the messages to fold are not the oldest");
  msgs.erase(msgs.begin(),
             msgs.begin() + static_cast<std::ptrdiff_t>(change.seqs.size()));
  if (!change.summary.empty())
    session.context = change.summary;
  session.tokens += change.tokens_used;
  return ok_atom::value;
}

} // namespace

fake_store_actor::behavior_type fake_store(fake_store_pointer self) {
  return {
    [=](load_atom, const std::string& id) {
      return serve<session_snapshot>(self, false, [=]() -> caf::expected<session_snapshot> {
        ++self->state.loads;
        auto& session = self->state.sessions[id];
        if (self->state.written.count(id) == 0) {
          auto unclaimed = session; // a read of nothing stores nothing
          unclaimed.epoch = 0;
          return unclaimed;
        }
        ++session.epoch;
        return session;
      });
    },
    [=](claim_atom, const std::string& id) {
      return serve<session_snapshot>(self, false, [=]() -> caf::expected<session_snapshot> {
        ++self->state.claims;
        auto& session = self->state.sessions[id];
        ++session.epoch;
        return session;
      });
    },
    [=](append_atom, const std::string& id, store::append_change& change) {
      return serve<ok_atom>(self, true, [=]() -> caf::expected<ok_atom> {
        auto& session = self->state.sessions[id];
        if (session.epoch != change.epoch)
          return fenced();
        self->state.written.insert(id);
        auto& stored = self->state.ids[id];
        auto repeated = std::count_if(
          change.messages.begin(), change.messages.end(),
          [&](const stored_message& msg) {
            return stored.count(msg.details.id) > 0;
          });
        if (repeated > 0
            && repeated == static_cast<std::ptrdiff_t>(change.messages.size()))
          return make_error(service_errc::already_stored, "STORED");
        if (repeated > 0)
          return make_error(service_errc::id_conflict, "CONFLICT");
        for (auto& msg : change.messages) {
          stored.insert(msg.details.id);
          session.messages.push_back(msg);
          if (change.archive)
            self->state.archives[id].messages.push_back(msg);
        }
        if (change.context) {
          session.context = change.context;
          ++session.summary_generation;
        }
        session.next_seq = change.next_seq;
        auto& names = session.namespaces;
        if (change.added_namespace
            && std::count(names.begin(), names.end(), *change.added_namespace)
                 == 0)
          names.push_back(*change.added_namespace);
        auto& info = self->state.infos[id];
        info.exists = true;
        info.message_count += change.messages.size();
        info.namespaces = names;
        if (change.session_metadata) {
          info.metadata = *change.session_metadata;
          session.has_metadata = !change.session_metadata->empty();
        }
        return ok_atom::value;
      });
    },
    [=](info_atom, const std::string& id) {
      return serve<session_info>(self, false, [=]() -> caf::expected<session_info> {
        return self->state.infos[id];
      });
    },
    [=](fold_atom, const std::string& id, store::fold_change& change) {
      return serve<ok_atom>(self, true, [=]() -> caf::expected<ok_atom> {
        return apply_fold(self->state.sessions[id], change);
      });
    },
    [=](erase_atom, const std::string& id, erase_request&,
        uint64_t epoch) {
      return serve<ok_atom>(self, true, [=]() -> caf::expected<ok_atom> {
        auto& session = self->state.sessions[id];
        if (session.epoch != epoch)
          return fenced();
        session_snapshot erased;
        erased.epoch = epoch;
        erased.summary_generation = session.summary_generation + 1;
        session = erased;
        self->state.archives.erase(id);
        self->state.infos.erase(id);
        self->state.ids.erase(id);
        self->state.written.erase(id);
        return ok_atom::value;
      });
    },
    [=](list_atom, session_page&) -> caf::result<session_listing> {
      session_listing listing;
      for (auto& entry : self->state.sessions)
        listing.ids.push_back(entry.first);
      return listing;
    },
    [=](ping_atom) {
      return serve<ok_atom>(self, false, [] { return ok_atom::value; });
    },
    [=](archive_atom, const std::string& id) {
      return serve<session_archive>(self, false, [=]() -> caf::expected<session_archive> {
        return self->state.archives[id];
      });
    },
    [=](vectors_atom, const std::string& id, store::vector_batch& batch,
        bool all_embedded) {
      return serve<ok_atom>(self, true, [=]() -> caf::expected<ok_atom> {
        self->state.all_embedded_flags.push_back(all_embedded);
        if (self->state.sessions[id].epoch != batch.epoch)
          return fenced();
        auto& archive = self->state.archives[id];
        for (auto& v : batch.vectors)
          archive.vectors.push_back(v);
        archive.embedding_model = batch.model;
        return ok_atom::value;
      });
    },
    [=](members_atom, const std::string& reader, uint64_t held)
      -> caf::result<store::membership_table> {
      if (self->state.down)
        return unavailable();
      auto& table = self->state.members;
      table.renewed = false;
      table.redis_run_id = self->state.run_id;
      for (auto& row : table.rows)
        if (row.id() == reader && row.status == store::member_status::active
            && held == table.version) {
          ++row.renewals;
          table.renewed = true;
        }
      return table;
    },
    [=](members_atom, uint64_t expected, std::vector<store::member_row>& rows) {
      auto& table = self->state.members;
      if (table.version != expected)
        return store::membership_write_result{false, table.version};
      write_member_rows(table, std::move(rows), milliseconds_on(self->clock()));
      return store::membership_write_result{true, table.version};
    },
    [=](suspect_atom, uint64_t expected, const std::string& suspect,
        const std::string& suspecter, int64_t window_ms) {
      auto& table = self->state.members;
      if (table.version != expected)
        return store::membership_suspect_result{false, false, table.version};
      auto now = milliseconds_on(self->clock());
      self->state.suspicions[{suspect, suspecter}] = now;
      std::size_t others = 0, suspecting = 0;
      const store::member_row* suspected = nullptr;
      for (const auto& row : table.rows) {
        if (row.status != store::member_status::active)
          continue;
        if (row.id() == suspect) {
          suspected = &row;
          continue;
        }
        ++others;
        auto at = self->state.suspicions.find({suspect, row.id()});
        if (at != self->state.suspicions.end() && now - at->second <= window_ms)
          ++suspecting;
      }
      if (suspected == nullptr || suspecting * 2 <= others)
        return store::membership_suspect_result{true, false, table.version};
      auto dead = *suspected;
      dead.status = store::member_status::dead;
      write_member_rows(table, {dead}, now);
      return store::membership_suspect_result{true, true, table.version};
    },
    [=](pending_atom, uint32_t) -> std::vector<std::string> { return {}; },
    [=](forget_atom, const std::string&) {
      return serve<ok_atom>(self, true, [] { return ok_atom::value; });
    },
    [=](expire_atom, int64_t, uint32_t) -> std::vector<std::string> {
      return {};
    },
    [=](namespace_atom, const std::string& ns) {
      std::vector<std::string> ids;
      for (const auto& [id, session] : self->state.sessions)
        if (std::count(session.namespaces.begin(), session.namespaces.end(), ns))
          ids.push_back(id);
      return ids;
    },
    // A store without the original's layout: the session's own namespaces.
    [=](adopt_atom, const std::string& id, const std::vector<std::string>&) {
      auto found = self->state.sessions.find(id);
      return found == self->state.sessions.end() ? std::vector<std::string>{}
                                                 : found->second.namespaces;
    },
    [=](rate_atom, uint64_t, uint64_t, uint64_t) -> int64_t { return 0; },
    [=](flush_atom) {},
    [=](release_atom, std::size_t count) {
      auto& st = self->state;
      for (; count > 0 && !st.held.empty(); --count) {
        auto next = std::move(st.held.front());
        st.held.pop_front();
        next();
      }
      if (st.held.empty())
        st.holding = false;
    },
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
  store = sys.spawn(fake_store);
  summarizer = sys.spawn(fake_summarizer);
  registry = sys.spawn(session_registry,
                       session_setup{limits, {store, summarizer, {}}, nullptr, nullptr},
                       cache);
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
  return ask<memory_view>(registry, memory_get_atom::value, id, access_scope{});
}

void actor_fixture::check_erased(const std::string& id) {
  auto view = get(id);
  CAF_REQUIRE(view);
  CAF_CHECK(view->messages.empty());
  CAF_CHECK(!view->context);
  CAF_CHECK(store_state().sessions[id].messages.empty());
  CAF_CHECK(!store_state().sessions[id].context);
}

caf::expected<ok_atom> actor_fixture::post(const std::string& id,
                                           std::vector<chat_message> messages,
                                           std::optional<std::string> context,
                                           std::optional<std::string> ns) {
  append_request request{std::move(messages), std::move(context),
                         std::move(ns)};
  return ask<ok_atom>(registry, memory_append_atom::value, id,
                      std::move(request), access_scope{});
}

fake_store_state& actor_fixture::store_state() {
  return deref<caf::stateful_actor<fake_store_state,
                                   fake_store_actor::base>>(store)
    .state;
}

void actor_fixture::hold_store() {
  store_state().holding = true;
}

void actor_fixture::release_store(std::size_t count) {
  self->send(store, release_atom::value, count);
  sched.run();
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

memory_view decode_memory(const encoded_memory& memory) {
  rapidjson::Document doc;
  doc.Parse(memory.json.data(), memory.json.size());
  if (doc.HasParseError() || !doc.IsObject())
    throw std::runtime_error("a GET answered no JSON object: " + memory.json);
  memory_view view;
  for (const auto& msg : doc["messages"].GetArray()) {
    chat_message decoded{msg["role"].GetString(), msg["content"].GetString()};
    if (msg.HasMember("id")) {
      decoded.details.id = msg["id"].GetString();
      decoded.details.created_at
        = parse_rfc3339(msg["created_at"].GetString()).value_or(0);
      decoded.details.token_count = msg["token_count"].GetUint();
    }
    if (msg.HasMember("metadata")) {
      rapidjson::StringBuffer text;
      rapidjson::Writer<rapidjson::StringBuffer> writer{text};
      msg["metadata"].Accept(writer);
      decoded.details.metadata = text.GetString();
    }
    view.messages.push_back(std::move(decoded));
  }
  if (doc["context"].IsString())
    view.context = doc["context"].GetString();
  view.tokens = doc["tokens"].GetUint64();
  return view;
}

std::vector<std::string> contents(const memory_view& view) {
  std::vector<std::string> result;
  for (const auto& msg : view.messages)
    result.push_back(msg.content);
  return result;
}

} // namespace motorhead::testing
