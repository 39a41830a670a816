// The keys the original Motorhead wrote, as `motorhead migrate` moves them
// ahead of time (a load moves one session: see store::original_import).
// The original ran on a single Redis:
//   session:{ID}          LIST "role: content", newest first
//   context:{ID}          STRING the summary
//   tokens:{ID}           STRING tokens the summaries used
//   sessions              ZSET session id -> Unix seconds of its last POST
//   sessions:{NS}         ZSET the same, for a namespace
//   motorhead:{NANOID}    HASH session, content, role, vector (float32 LE):
//                              one message of long-term memory; the id is
//                              21 characters of [A-Za-z0-9_-]
// Every command here runs one script, atomic and idempotent: a migration
// cut short and run again, or a server moving the same session meanwhile,
// loses and duplicates nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/outcome.hpp"
#include "storage/redis_connection.hpp"
#include "storage/session_store.hpp"

namespace motorhead::store {

enum class original_key_kind { session, index, memory };

/// One SCAN step over the keys of a kind (their pattern and type).
redis_command original_scan_command(original_key_kind kind,
                                    const std::string& cursor);

/// The session a `session:{ID}` key holds, or none for another key.
std::optional<std::string> original_session_of(std::string_view key);
/// Whether `key` is one of the original's indexes: `sessions` (no
/// namespace) or `sessions:{NS}`; `ns` gets the namespace ("" for none).
bool is_original_index(std::string_view key, std::string& ns);
/// Whether `key` has the shape of a long-term memory hash of the original
/// (none of this layout's keys has it).
bool is_original_memory(std::string_view key);

/// Moves the session, as a load would but without claiming it; the reply
/// is how many messages moved, -1 when there was nothing to move, or -2
/// when this layout holds the session too (written by a server with the
/// original's layout off): nothing moves then.
redis_command move_original_command(const std::string& session_id,
                                    const original_import& import,
                                    const key_layout& layout);

/// Settles the session's entry in an original index (`ns` "" for
/// `sessions`): a moved session joins the namespace (this layout's index
/// and its list of namespaces) and leaves the original's index. The reply
/// names the outcome: "joined"; "stale" (no session of the original's by
/// that id: the entry is dropped); "waiting" (the session is not moved
/// yet); "both" (both layouts hold it: see move_original_command); "gone"
/// (not listed any more).
redis_command settle_original_entry_command(const std::string& ns,
                                            const std::string& session_id);

/// How a long-term memory hash of the original joins its session's archive.
struct original_memory_import {
  bool keep_vector = false; // the vector came from the embedding model
  bool embed = false;       // else a provider embeds the message again
  std::string model;        // the embedding model, when the vector is kept
};

/// Moves long-term memory hashes of one session (`keys`; a few hundred at
/// most): a message moved with the session gets its vector; an older one
/// joins the archive. The reply has, per hash, [outcome, 1 when the vector
/// was kept]; outcomes: "window", "archived", "deleted" (its session was
/// deleted: the hash is too), and, leaving the hash in place, "waiting"
/// (the session is not moved yet) and "unreadable"; "gone" when it was
/// moved before. A server holding the session sees what joined its archive
/// once it reads the session again (after it went idle).
redis_command import_original_memory_command(
  const std::string& session_id, const std::vector<std::string>& keys,
  const original_memory_import& import, const key_layout& layout);

/// The namespaces of `namespaces` whose original index lists the session
/// (a moved one) join the session's; the reply is all of its namespaces
/// (decode_adopted_namespaces). Asked when a key scoped to them finds the
/// session outside its namespaces. On a Redis Cluster (which the original
/// never ran on) it only reads the session's namespaces.
redis_command adopt_original_namespaces_command(
  const std::string& session_id, const std::vector<std::string>& namespaces,
  const key_layout& layout);
outcome<std::vector<std::string>>
decode_adopted_namespaces(const redis_reply& reply);

} // namespace motorhead::store
