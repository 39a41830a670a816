#include "actors/provider_summarizer.hpp"

#include <caf/all.hpp>

#include "core/json_codec.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"

namespace motorhead {

namespace {

using fold_state = provider_worker_state::fold_in_progress;

void plan_call(provider_worker_pointer self) {
  auto& ctx = *self->state.context;
  auto& fold = *self->state.fold;
  fold.call = plan_next_call(*ctx.tokenizer, *ctx.prompt, fold.summary,
                             fold.job.lines, fold.next_line, ctx.budget);
  fold.attempt = 1;
}

/// Submits the planned call to the transport; its answer comes back as a
/// message numbered `id`.
void submit_call(provider_worker_pointer self, uint64_t id) {
  auto& ctx = *self->state.context;
  auto& fold = *self->state.fold;
  http_call call{ctx.endpoint.url, ctx.endpoint.headers,
                 json::encode_chat_request(ctx.endpoint.model, fold.call.prompt,
                                           ctx.budget.completion_tokens),
                 ctx.calls.timeout};
  ctx.calls.submit(std::move(call), metrics::provider_purpose::summary,
                   caf::actor_cast<provider_worker_actor>(self),
                   id);
}

/// Submits the call now, or retries once the rate limit allows it.
void submit_or_wait(provider_worker_pointer self, uint64_t id,
                    std::chrono::milliseconds wait) {
  if (wait.count() > 0)
    self->delayed_send(self, wait, provider_retry_atom::value, id);
  else
    submit_call(self, id);
}

std::chrono::milliseconds local_wait(provider_worker_pointer self) {
  auto& ctx = *self->state.context;
  return ctx.limiter->acquire(self->clock().now(),
                              self->state.fold->call.prompt_tokens
                                + ctx.budget.completion_tokens);
}

void fail_fold(provider_worker_pointer self, const std::string& why);

/// Sends the planned call when the rate limit allows, else waits for it.
/// A fold whose requester stopped waiting makes no further call.
void send_call(provider_worker_pointer self) {
  auto& st = self->state;
  auto& ctx = *st.context;
  if (self->clock().now() >= st.fold->deadline) {
    log_warn("summarizer", "fold abandoned, its requester stopped waiting",
             {text_field("session", st.fold->job.session_id)});
    fail_fold(self, "the fold took longer than its requester waits");
    return;
  }
  auto id = ++st.call_id;
  if (!ctx.cluster_limit) {
    submit_or_wait(self, id, local_wait(self));
    return;
  }
  const auto& limit = *ctx.cluster_limit;
  self->request(limit.store, ctx.calls.timeout, rate_atom::value,
                limit.requests_per_minute, limit.tokens_per_minute,
                uint64_t{st.fold->call.prompt_tokens + ctx.budget.completion_tokens})
    .then(
      [=](int64_t wait_ms) {
        if (self->state.fold && id == self->state.call_id)
          submit_or_wait(self, id, std::chrono::milliseconds{wait_ms});
      },
      [=](caf::error&) {
        if (self->state.fold && id == self->state.call_id)
          submit_or_wait(self, id, local_wait(self));
      });
}

void finish_fold(provider_worker_pointer self) {
  auto& fold = *self->state.fold;
  fold.promise.deliver(fold_result{fold.summary, fold.tokens_used});
  self->state.fold.reset();
}

void fail_fold(provider_worker_pointer self, const std::string& why) {
  self->state.fold->promise.deliver(
    make_error(service_errc::provider_failed, why));
  self->state.fold.reset();
}

/// Logs the failed attempt and retries it later, or gives the fold up.
void handle_failure(provider_worker_pointer self, const std::string& why,
                    bool retryable, const std::string& retry_after) {
  auto& ctx = *self->state.context;
  auto& fold = *self->state.fold;
  auto& session = fold.job.session_id;
  if (!retryable || fold.attempt >= ctx.calls.backoff.max_attempts) {
    log_error("summarizer", "provider call failed (" + why + "), giving up",
              {text_field("session", session),
               number_field("attempt", uint64_t{fold.attempt}),
               number_field("max_attempts",
                            uint64_t{ctx.calls.backoff.max_attempts})});
    fail_fold(self, why);
    return;
  }
  auto delay = ctx.calls.retry_delay(fold.attempt, retry_after);
  log_warn("summarizer", "provider call failed (" + why + "), retrying",
           {text_field("session", session),
            number_field("attempt", uint64_t{fold.attempt}),
            number_field("max_attempts", uint64_t{ctx.calls.backoff.max_attempts}),
            number_field("retry_ms", uint64_t(delay.count()))});
  ++fold.attempt;
  self->delayed_send(self, delay, provider_retry_atom::value,
                     ++self->state.call_id);
}

void handle_reply(provider_worker_pointer self, http_result& result) {
  auto& fold = *self->state.fold;
  auto outcome = classify(result);
  if (outcome != call_outcome::succeeded) {
    handle_failure(self, describe_failure(result),
                   outcome == call_outcome::retryable, result.retry_after);
    return;
  }
  auto completion = json::decode_chat_response(result.body);
  if (!completion) {
    handle_failure(self, completion.error, true, {});
    return;
  }
  if (!is_none_answer(completion.value->content))
    fold.summary = completion.value->content;
  fold.tokens_used += completion.value->total_tokens;
  metrics::global().provider_tokens.add(completion.value->total_tokens);
  fold.next_line += fold.call.lines_used;
  if (fold.next_line >= fold.job.lines.size()) {
    finish_fold(self);
    return;
  }
  plan_call(self);
  send_call(self);
}

} // namespace

provider_worker_actor::behavior_type
provider_summarizer(provider_worker_pointer self,
                    std::shared_ptr<const provider_context> context) {
  self->state.context = std::move(context);
  return {
    [=](summarize_atom, fold_job& job) -> caf::result<fold_result> {
      if (self->state.fold)
        return make_error(service_errc::overloaded,
                          "the provider worker is busy");
      auto rp = self->make_response_promise<fold_result>();
      fold_state fold;
      fold.deadline = deadline_of(job, self->clock().now());
      fold.summary = job.previous_summary.value_or("");
      fold.job = std::move(job);
      fold.promise = rp;
      self->state.fold = std::move(fold);
      plan_call(self);
      send_call(self);
      return rp;
    },
    [=](provider_reply_atom, uint64_t id, http_result& result) {
      if (self->state.fold && id == self->state.call_id)
        handle_reply(self, result);
    },
    [=](provider_retry_atom, uint64_t id) {
      if (self->state.fold && id == self->state.call_id)
        send_call(self);
    },
  };
}

} // namespace motorhead
