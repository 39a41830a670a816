#include "actors/embedder.hpp"

#include <caf/all.hpp>

#include "core/json_codec.hpp"
#include "core/log.hpp"

namespace motorhead {

namespace {

void submit(embedder_pointer self, uint64_t id) {
  auto& st = self->state;
  const auto& cfg = st.settings;
  auto& pending = st.calls.at(id);
  http_call call{cfg.endpoint.url, cfg.endpoint.headers,
                 json::encode_embedding_request(cfg.endpoint.model, pending.texts),
                 cfg.calls.timeout};
  cfg.calls.submit(std::move(call), metrics::provider_purpose::embedding,
                   caf::actor_cast<embedder_actor>(self), id);
}

void fail(embedder_pointer self, uint64_t id, const std::string& why) {
  auto it = self->state.calls.find(id);
  it->second.promise.deliver(make_error(service_errc::provider_failed, why));
  self->state.calls.erase(it);
}

/// Logs the failed attempt; retries it later or gives up.
void handle_failure(embedder_pointer self, uint64_t id, const std::string& why,
                    bool retryable, const std::string& retry_after) {
  auto& cfg = self->state.settings;
  auto& pending = self->state.calls.at(id);
  if (!retryable || pending.attempt >= cfg.calls.backoff.max_attempts) {
    log_error("embedder", "provider call failed (" + why + "), giving up",
              {number_field("attempt", uint64_t{pending.attempt})});
    fail(self, id, why);
    return;
  }
  auto delay = cfg.calls.retry_delay(pending.attempt, retry_after);
  log_warn("embedder", "provider call failed (" + why + "), retrying",
           {number_field("attempt", uint64_t{pending.attempt}),
            number_field("retry_ms", uint64_t(delay.count()))});
  ++pending.attempt;
  self->delayed_send(self, delay, provider_retry_atom::value, id);
}

void handle_reply(embedder_pointer self, uint64_t id, const http_result& result) {
  auto outcome = classify(result);
  if (outcome != call_outcome::succeeded) {
    handle_failure(self, id, describe_failure(result),
                   outcome == call_outcome::retryable, result.retry_after);
    return;
  }
  auto& pending = self->state.calls.at(id);
  auto decoded = json::decode_embedding_response(result.body, pending.texts.size());
  if (!decoded) {
    handle_failure(self, id, decoded.error, true, {});
    return;
  }
  if (decoded.value->model.empty())
    decoded.value->model = self->state.settings.endpoint.model;
  pending.promise.deliver(std::move(*decoded.value));
  self->state.calls.erase(id);
}

} // namespace

embedder_actor::behavior_type embedder(embedder_pointer self,
                                       embedder_settings settings) {
  self->state.settings = std::move(settings);
  return {
    [=](embed_atom, std::vector<std::string>& texts)
      -> caf::result<embedding_result> {
      auto& st = self->state;
      if (st.calls.size() >= st.settings.concurrency)
        return make_error(service_errc::overloaded, "the embedder is busy");
      auto rp = self->make_response_promise<embedding_result>();
      auto id = ++st.next_id;
      st.calls.emplace(id, embedder_state::call{std::move(texts), rp, 1});
      submit(self, id);
      return rp;
    },
    [=](provider_reply_atom, uint64_t id, http_result& result) {
      if (self->state.calls.count(id) > 0)
        handle_reply(self, id, result);
    },
    [=](provider_retry_atom, uint64_t id) {
      if (self->state.calls.count(id) > 0)
        submit(self, id);
    },
  };
}

caf::behavior embedding_sweeper(caf::event_based_actor* self,
                                persistence_actor store, router_actor router,
                                std::chrono::milliseconds interval) {
  constexpr uint32_t sessions_per_sweep = 1000;
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      self->request(store, interval, pending_atom::value, sessions_per_sweep)
        .then(
          [=](const std::vector<std::string>& sessions) {
            for (const auto& id : sessions)
              self->request(router, interval, memory_get_atom::value, id,
                            access_scope{})
                .then([](const encoded_memory&) {}, [](const caf::error&) {});
          },
          [](const caf::error&) {});
      self->delayed_send(self, interval, tick_atom::value);
    },
  };
}

} // namespace motorhead
