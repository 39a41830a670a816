// The summarizer pool: a bounded queue of fold jobs in front of a fixed set
// of workers, one job per worker at a time. A full queue answers
// `overloaded` at once, so a session keeps its messages and retries later
// instead of waiting.
#pragma once

#include <deque>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/protocol.hpp"
#include "core/extractive_summarizer.hpp"

namespace motorhead {

struct summarizer_pool_state {
  struct queued_job {
    fold_job job;
    caf::typed_response_promise<fold_result> promise;
    caf::actor_clock::time_point deadline; // the requester stops waiting
    caf::actor_clock::time_point accepted; // for the fold duration metric
  };

  std::vector<summarizer_actor> idle_workers;
  std::deque<queued_job> queue;
  std::size_t queue_capacity = 0;
  /// Where jobs go when the queue is full (the cluster); none alone.
  summarizer_actor overflow;

  static inline const char* name = "summarizer_pool";
};

using summarizer_pool_pointer
  = summarizer_pool_actor::stateful_pointer<summarizer_pool_state>;

/// The pool links itself to `workers`, so they stop with it.
summarizer_pool_actor::behavior_type
summarizer_pool(summarizer_pool_pointer self,
                std::vector<summarizer_actor> workers,
                std::size_t queue_capacity);

/// A worker running the built-in extractive summarizer.
summarizer_actor::behavior_type extractive_summarizer(extractive_options options);

} // namespace motorhead
