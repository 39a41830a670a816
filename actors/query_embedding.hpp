// The embedding of a retrieval's query, shared by a session's own search
// and a namespace's.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>

#include "actors/session_actor.hpp"

namespace motorhead {

/// Calls `fn(vector)` with the query's embedding; with an empty vector
/// (BM25 alone) when long-term memory has no embedder or the embedder
/// fails: a search still answers when the provider does not.
template <class Self, class Fn>
void with_query_vector(Self* self, const session_setup& setup,
                       std::string text, Fn fn) {
  if (!embeds(setup)) {
    fn(std::vector<float>{});
    return;
  }
  self->request(setup.peers.embedder, setup.limits.embedder_timeout,
                embed_atom::value, std::vector<std::string>{std::move(text)})
    .then(
      [=](embedding_result& result) mutable {
        fn(result.vectors.empty() ? std::vector<float>{}
                                  : std::move(result.vectors.front()));
      },
      [=](caf::error&) mutable { fn(std::vector<float>{}); });
}

} // namespace motorhead
