// Retention: the deletion of sessions untouched for
// MOTORHEAD_SESSION_TTL_SECONDS.
#pragma once

#include <chrono>

#include <caf/event_based_actor.hpp>

#include "actors/protocol.hpp"

namespace motorhead {

/// Deletes the sessions Redis lists as untouched (no POST or PATCH) for
/// `ttl`, through `router`, so that each session's owner deletes it, and
/// only if it is still untouched then: a batch at start, then every
/// `interval`, or at once while batches come back full. Every node of a
/// cluster sweeps; a session two nodes find is deleted once.
caf::behavior retention_sweeper(caf::event_based_actor* self,
                                persistence_actor store, router_actor router,
                                std::chrono::seconds ttl,
                                std::chrono::milliseconds interval);

/// The interval for `ttl`: a quarter of it, from 1 s to 60 s.
std::chrono::milliseconds retention_interval(std::chrono::seconds ttl);

} // namespace motorhead
