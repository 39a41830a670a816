// The session actor's behavior: a handler per message of session_actor. The
// work of each concept is in a file of its own (actors/session_*.cpp), which
// share the session's internals through actors/session_state.hpp.
#include "actors/session_actor.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/session_state.hpp"
#include "actors/shared_behavior.hpp"
#include "core/json_codec.hpp"

namespace motorhead {

// Every live session is one block of the allocator: the actor with its
// state behind CAF's control block. mimalloc rounds a block up to its size
// class (1,280 B, then 1,536 B), so a state a few bytes larger costs each
// session 256 B (bench/session_memory.py).
static_assert(sizeof(caf::actor_storage<caf::stateful_actor<
                       session_state, session_actor::base>>)
                <= 1280,
              "a session no longer fits mimalloc's 1,280-byte size class");

encoded_memory encode_memory(const session_state& st) {
  return {json::encode_memory(st.messages, st.limits().max_window,
                              st.context.get(), st.tokens)};
}

namespace {

// The session's handlers, one per message of session_actor, in its order
// (see actors/shared_behavior.hpp). The steps of a namespace's search are in
// actors/session_search.cpp.

caf::result<encoded_memory> on_get(session_pointer self, memory_get_atom,
                                   access_scope& scope) {
  auto rp = self->make_response_promise<encoded_memory>();
  with_reachable_state(
    self, scope,
    [=]() mutable { rp.deliver(encode_memory(self->state)); },
    [=](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

caf::result<ok_atom> on_append(session_pointer self, memory_append_atom,
                               append_request& request, access_scope& scope) {
  return append(self, std::move(request), std::move(scope));
}

caf::result<ok_atom> on_delete(session_pointer self, memory_delete_atom,
                               erase_request& request, access_scope& scope) {
  return erase(self, std::move(request), std::move(scope));
}

caf::result<std::vector<retrieval_hit>>
on_retrieve(session_pointer self, retrieve_atom, retrieval_query& query,
            access_scope& scope) {
  return retrieve(self, std::move(query), std::move(scope));
}

caf::result<session_info> on_info(session_pointer self, info_atom,
                                  session_patch& patch, access_scope& scope) {
  return describe(self, std::move(patch), std::move(scope));
}

void on_embed(session_pointer self, embed_atom) {
  start_embedding_if_due(self);
}

void on_fold(session_pointer self, fold_atom) {
  resume_folding(self);
}

bool on_idle(session_pointer self, idle_atom) {
  return is_quiescent(self->state);
}

void on_retire(session_pointer self, retire_atom) {
  self->state.retiring = true;
  stop_if_retired(self);
}

constexpr auto session_handlers = std::make_tuple(
  &on_get, &on_append, &on_delete, &on_retrieve, &on_info, &on_stats,
  &on_candidates, &on_fetch, &on_embed, &on_fold, &on_idle, &on_retire);

static_assert(
  std::is_same_v<shared_behavior::interface_of<decltype(session_handlers)>,
                 session_actor>,
  "the session's handlers must match session_actor, message by message");

caf::result<caf::message> handle_message(caf::scheduled_actor* self,
                                         caf::message_view& message) {
  return shared_behavior::dispatch(static_cast<session_pointer>(self),
                                   message, session_handlers);
}

} // namespace

session_actor::behavior_type
session(session_pointer self, std::string id,
        std::shared_ptr<const session_setup> setup) {
  self->state.id = std::move(id);
  self->state.setup = std::move(setup);
  self->set_default_handler(handle_message);
  return {session_actor::behavior_type::unsafe_init{},
          shared_behavior::empty()};
}

} // namespace motorhead
