// What every family of the protocol shares: the atoms, and the inspection of
// the messages that they all carry. Include actors/protocol.hpp, not this.
#pragma once

#include <optional>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include "core/memory_types.hpp"

namespace motorhead {

// -- atoms ------------------------------------------------------------------

using memory_get_atom = caf::atom_constant<caf::atom("mem_get")>;
using memory_append_atom = caf::atom_constant<caf::atom("mem_append")>;
using memory_delete_atom = caf::atom_constant<caf::atom("mem_delete")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
using claim_atom = caf::atom_constant<caf::atom("claim")>;
using append_atom = caf::atom_constant<caf::atom("append")>;
using fold_atom = caf::atom_constant<caf::atom("fold")>;
using erase_atom = caf::atom_constant<caf::atom("erase")>;
using summarize_atom = caf::atom_constant<caf::atom("summarize")>;
using provider_reply_atom = caf::atom_constant<caf::atom("prov_reply")>;
using forward_atom = caf::atom_constant<caf::atom("forward")>;
using relay_atom = caf::atom_constant<caf::atom("relay")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using handoff_atom = caf::atom_constant<caf::atom("handoff")>;
using credits_atom = caf::atom_constant<caf::atom("credits")>;
using retire_atom = caf::atom_constant<caf::atom("retire")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using peer_up_atom = caf::atom_constant<caf::atom("peer_up")>;
using cluster_atom = caf::atom_constant<caf::atom("cluster")>;
using overflow_atom = caf::atom_constant<caf::atom("overflow")>;
using rate_atom = caf::atom_constant<caf::atom("rate")>;
using members_atom = caf::atom_constant<caf::atom("members")>;
using suspect_atom = caf::atom_constant<caf::atom("suspect")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using retrieve_atom = caf::atom_constant<caf::atom("retrieve")>;
using embed_atom = caf::atom_constant<caf::atom("embed")>;
using archive_atom = caf::atom_constant<caf::atom("archive")>;
using vectors_atom = caf::atom_constant<caf::atom("vectors")>;
using pending_atom = caf::atom_constant<caf::atom("pending")>;
using info_atom = caf::atom_constant<caf::atom("info")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using candidates_atom = caf::atom_constant<caf::atom("candidates")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using namespace_atom = caf::atom_constant<caf::atom("namespace")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using forget_atom = caf::atom_constant<caf::atom("forget")>;
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;
using caf::connect_atom;
using caf::tick_atom;
using provider_retry_atom = caf::atom_constant<caf::atom("prov_retry")>;
using caf::flush_atom;
using caf::idle_atom;
using caf::ok_atom;
using caf::ping_atom;

// -- inspection ---------------------------------------------------------------

/// Lets CAF serialize a std::optional<std::string> (0.17 only knows its own).
struct optional_string_field {
  std::optional<std::string>& ref;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        optional_string_field& x) {
  bool present = x.ref.has_value();
  std::string text = x.ref.value_or("");
  auto store = caf::meta::load_callback([&]() -> caf::error {
    if (present)
      x.ref = text;
    else
      x.ref.reset();
    return caf::none;
  });
  return f(present, text, store);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, message_details& x) {
  return f(caf::meta::type_name("message_details"), x.id, x.created_at,
           x.metadata, x.token_count);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chat_message& x) {
  return f(caf::meta::type_name("chat_message"), x.role, x.content,
           x.details);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stored_message& x) {
  return f(caf::meta::type_name("stored_message"), x.seq, x.role, x.content,
           x.details);
}

} // namespace motorhead
