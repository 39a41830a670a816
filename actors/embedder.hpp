// The embedder: turns texts into vectors through the provider's embeddings
// endpoint, with at most `concurrency` calls in flight, each retried with
// backoff like the summarizer's.
#pragma once

#include <map>
#include <memory>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/protocol.hpp"
#include "actors/provider_calls.hpp"
#include "provider/chat_endpoint.hpp"

namespace motorhead {

struct embedder_settings {
  chat_endpoint endpoint;
  provider_calls calls;
  std::size_t concurrency = 8;
};

struct embedder_state {
  struct call {
    std::vector<std::string> texts;
    caf::typed_response_promise<embedding_result> promise;
    unsigned attempt = 1;
  };

  embedder_settings settings;
  std::map<uint64_t, call> calls; // in flight or waiting to retry
  uint64_t next_id = 0;

  static inline const char* name = "embedder";
};

using embedder_pointer = embedder_actor::stateful_pointer<embedder_state>;

embedder_actor::behavior_type embedder(embedder_pointer self,
                                       embedder_settings settings);

/// Wakes, through `router`, the sessions Redis lists with messages still
/// waiting for embeddings (a crash or restart came between their POST and
/// their embedding): at start, then every `interval`. A woken session
/// embeds what it finds pending.
caf::behavior embedding_sweeper(caf::event_based_actor* self,
                                persistence_actor store, router_actor router,
                                std::chrono::milliseconds interval);

} // namespace motorhead
