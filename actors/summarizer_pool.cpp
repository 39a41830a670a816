#include "actors/summarizer_pool.hpp"

#include <caf/all.hpp>

#include "core/log.hpp"
#include "core/metrics.hpp"

namespace motorhead {

namespace {

void dispatch(summarizer_pool_pointer self, summarizer_actor worker,
              summarizer_pool_state::queued_job queued);

/// Answers the jobs at the head of the queue whose requesters stopped
/// waiting, and forgets them: a result nobody reads is not worth a provider
/// call. (Jobs share one time limit, so the head expires first; one behind
/// an unexpired job goes when it reaches the head, still before it runs.)
void drop_expired(summarizer_pool_pointer self) {
  auto& queue = self->state.queue;
  auto now = self->clock().now();
  while (!queue.empty() && queue.front().deadline <= now) {
    log_warn("summarizer", "fold dropped, its requester stopped waiting",
             {text_field("session", queue.front().job.session_id)});
    queue.front().promise.deliver(make_error(
      service_errc::overloaded, "the fold waited longer than its requester"));
    queue.pop_front();
    metrics::global().folds_queued.sub();
    metrics::global().folds_failed.add();
  }
}

/// Gives the worker the next queued job, or puts it back among the idle.
void release(summarizer_pool_pointer self, summarizer_actor worker) {
  auto& st = self->state;
  drop_expired(self);
  if (st.queue.empty()) {
    st.idle_workers.push_back(std::move(worker));
    return;
  }
  auto next = std::move(st.queue.front());
  st.queue.pop_front();
  metrics::global().folds_queued.sub();
  dispatch(self, std::move(worker), std::move(next));
}

/// Counts a fold that left the pool's hands, done or failed.
void count_finished(summarizer_pool_pointer self,
                    caf::actor_clock::time_point accepted, bool done) {
  auto& m = metrics::global();
  m.folds_in_flight.sub();
  (done ? m.folds_done : m.folds_failed).add();
  std::chrono::duration<double> took = self->clock().now() - accepted;
  m.fold_seconds.observe(took.count());
}

/// Hands the job to the worker and answers its requester with the result.
void dispatch(summarizer_pool_pointer self, summarizer_actor worker,
              summarizer_pool_state::queued_job queued) {
  auto rp = queued.promise;
  auto accepted = queued.accepted;
  metrics::global().folds_in_flight.add();
  self->request(worker, caf::infinite, summarize_atom::value,
                std::move(queued.job))
    .then(
      [=](fold_result& result) mutable {
        count_finished(self, accepted, true);
        rp.deliver(std::move(result));
        release(self, worker);
      },
      [=](caf::error& err) mutable {
        count_finished(self, accepted, false);
        rp.deliver(std::move(err));
        release(self, worker);
      });
}

bool is_full(const summarizer_pool_state& st) {
  return st.idle_workers.empty() && st.queue.size() >= st.queue_capacity;
}

/// Runs the job on an idle worker or queues it; the pool has room.
caf::result<fold_result> accept(summarizer_pool_pointer self, fold_job job) {
  auto& st = self->state;
  auto rp = self->make_response_promise<fold_result>();
  auto deadline = deadline_of(job, self->clock().now());
  summarizer_pool_state::queued_job queued{std::move(job), rp, deadline,
                                           self->clock().now()};
  if (st.idle_workers.empty()) {
    st.queue.push_back(std::move(queued));
    metrics::global().folds_queued.add();
  } else {
    auto worker = std::move(st.idle_workers.back());
    st.idle_workers.pop_back();
    dispatch(self, std::move(worker), std::move(queued));
  }
  return rp;
}

caf::error queue_full() {
  return make_error(service_errc::overloaded, "the summarizer queue is full");
}

} // namespace

summarizer_pool_actor::behavior_type
summarizer_pool(summarizer_pool_pointer self,
                std::vector<summarizer_actor> workers,
                std::size_t queue_capacity) {
  for (auto& worker : workers)
    self->link_to(worker);
  self->state.idle_workers = std::move(workers);
  self->state.queue_capacity = queue_capacity;
  return {
    [=](summarize_atom, fold_job& job) -> caf::result<fold_result> {
      drop_expired(self);
      if (!is_full(self->state))
        return accept(self, std::move(job));
      if (self->state.overflow)
        return self->delegate(self->state.overflow, summarize_atom::value,
                              std::move(job));
      return queue_full();
    },
    [=](handoff_atom, fold_job& job) -> caf::result<fold_result> {
      drop_expired(self);
      if (is_full(self->state))
        return queue_full();
      return accept(self, std::move(job));
    },
    [=](credits_atom) -> uint64_t {
      auto& st = self->state;
      return st.idle_workers.size() + st.queue_capacity - st.queue.size();
    },
    [=](overflow_atom, summarizer_actor& target) {
      self->state.overflow = std::move(target);
    },
  };
}

summarizer_actor::behavior_type extractive_summarizer(extractive_options options) {
  return {
    [=](summarize_atom, const fold_job& job) {
      return fold_result{summarize_extractive(job.previous_summary, job.lines,
                                              options),
                         0};
    },
  };
}

} // namespace motorhead
