// A namespace's search across its sessions, which may live on several
// nodes: see search_actor in actors/protocol.hpp.
#pragma once

#include <memory>

#include "actors/protocol.hpp"
#include "actors/session_actor.hpp"

namespace motorhead {

/// `router` runs each step for the sessions named (the registry, or the
/// cluster node that splits them by owner); `setup` gives the store, which
/// lists the namespace, and the embedder.
search_actor::behavior_type
namespace_search(search_actor::pointer self, router_actor router,
                 std::shared_ptr<const session_setup> setup);

} // namespace motorhead
