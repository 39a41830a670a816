// The Redis layout of sessions: the commands that read and write a session
// and the decoding of their replies. Commands are built here and executed by
// the persistence actor, which pipelines the commands of many sessions.
//
// Keys (every key of a session carries the session id as a hash tag):
//   motorhead:session:{ID}:messages   LIST of JSON messages, oldest first
//   motorhead:session:{ID}:meta       HASH context, tokens, next_seq, namespaces,
//                                          epoch (the fencing token), summary_gen,
//                                          created_at, updated_at, message_count,
//                                          metadata (the session's)
//   motorhead:session:{ID}:archive    HASH seq -> JSON message, every message
//                                          ever stored (long-term memory)
//   motorhead:session:{ID}:unembedded SET seqs still waiting for a vector
//   motorhead:session:{ID}:vectors    HASH seq -> packed float32 embedding
//   motorhead:session:{ID}:ids        HASH message id -> seq, every message
//                                          ever stored (retries are known)
// and the indexes, which a session's fenced scripts update on a single
// Redis (the same server: atomic), and which on a Redis Cluster (other
// slots) are updated by commands sent once the script succeeded:
//   motorhead:sessions                ZSET session id -> ms of last POST
//   motorhead:namespace:{NS}:sessions ZSET session id -> ms of last POST
//   motorhead:embedding:pending       ZSET sessions with messages to embed
// On a Redis Cluster, every POST would write the session index and many the
// pending list: each is split into `key_layout::index_shards` keys,
// motorhead:sessions:{N} and motorhead:embedding:pending:{N}, a session in
// the one its id hashes to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/memory_types.hpp"
#include "core/outcome.hpp"
#include "storage/redis_client.hpp"

namespace motorhead::store {

std::string messages_key(const std::string& session_id);
std::string meta_key(const std::string& session_id);
std::string index_key(const std::optional<std::string>& ns);

/// Where the keys that are not a session's own live.
struct key_layout {
  /// How many keys the session index and the pending list are each split
  /// into; 1 keeps the single keys.
  unsigned index_shards = 1;
  /// Whether the session's scripts update the indexes themselves.
  bool indexes_in_scripts = true;

  static key_layout of(redis_topology topology);
};

/// The shard of the session index (or pending list) that lists a session.
std::string session_index_key(const std::string& session_id,
                              const key_layout& layout);
std::string pending_embeddings_key(const std::string& session_id,
                                   const key_layout& layout);
std::string archive_key(const std::string& session_id);
std::string unembedded_key(const std::string& session_id);
std::string vectors_key(const std::string& session_id);
std::string ids_key(const std::string& session_id);

/// What one POST changes in a session; applied atomically by a Lua script.
struct append_change {
  std::vector<stored_message> messages;
  std::optional<std::string> context;     // replaces the summary when set
  /// The namespaces the session is listed under, whose indexes the write
  /// refreshes.
  std::vector<std::string> namespaces;
  /// A namespace the session joins with this write, if the write stores
  /// anything (a retry or a refused POST joins none).
  std::optional<std::string> added_namespace;
  uint64_t next_seq = 1;
  uint64_t epoch = 0;                     // the writer's claim
  bool archive = false;                   // long-term memory keeps them
  bool embed = false;                     // and they wait for embeddings
  /// Whether some message ids are the client's: the server's own, fresh
  /// UUIDs, are stored nowhere yet, so only a client's can make a retry.
  bool client_ids = false;
  /// Replaces the session's metadata when set ("" removes it).
  std::optional<std::string> session_metadata;
};

/// Embeddings computed for some of a session's messages.
struct vector_batch {
  uint64_t epoch = 0;
  std::string model;
  std::vector<archived_vector> vectors;
};

/// A finished fold: drops exactly the messages `seqs` and sets the new
/// summary, atomically, if the summary it extends is still the session's.
struct fold_change {
  std::vector<uint64_t> seqs;       // the messages folded, oldest first
  uint64_t summary_generation = 0;  // of the summary the fold extends
  std::string summary;              // empty: the context stays as it was
  uint64_t tokens_used = 0;
  uint64_t epoch = 0;
};

/// Commands sent together; their replies come back in the same order.
using command_list = std::vector<redis_command>;

/// A session's write: its fenced script, and the index updates to send
/// once the script vouched for the write (none when the script makes
/// them): `index_updates` once it applied the write or found it applied by
/// an earlier try (a retry), `new_index_updates` only once it applied the
/// write itself (entries only that write may make: a namespace the session
/// joins). With `indexes_required`, the write is acknowledged only once
/// they are applied too (a session must be found where it is listed, by a
/// namespace's deletion among others); otherwise an index that missed the
/// write catches up with the session's next one.
struct write_plan {
  command_list commands;
  command_list index_updates;
  command_list new_index_updates;
  bool indexes_required = false;
};

/// What GET /sessions/{id} shows of the session, read without a claim.
command_list info_commands(const std::string& session_id);
outcome<session_info> decode_info(const std::vector<redis_reply>& replies);

/// What a load does with a session found only in the keys the original
/// Motorhead wrote (session:ID, context:ID, tokens:ID; a single Redis): it
/// moves it into this layout first, its messages archived and marked for
/// embedding as a POST's are.
struct original_import {
  bool archive = false;
  bool embed = false;
  /// Namespaces the original listed the session under (it kept no list
  /// of them per session; `motorhead migrate` finds them): the session
  /// joins each. Others stay in the original's indexes, which listings
  /// read, until a key scoped to one asks (see persistence's adopt_atom).
  std::vector<std::string> namespaces;
};

/// Reads the session, and claims it (its epoch goes up by one) if it
/// exists, or `claim_always` (its first write is coming). A session loaded
/// without a claim has epoch 0: it claims before it writes. With
/// `original`, on a single Redis, a session found only in the original's
/// keys is moved first (see original_import).
command_list load_commands(const std::string& session_id, bool claim_always,
                           const std::optional<original_import>& original
                           = std::nullopt,
                           const key_layout& layout = {});
outcome<session_snapshot> decode_load(const std::vector<redis_reply>& replies);

/// With `original_layout`, on a single Redis, a session joining a
/// namespace leaves the original Motorhead's index of it.
write_plan append_commands(const std::string& session_id,
                           const append_change& change, int64_t now_ms,
                           const key_layout& layout,
                           bool original_layout = false);
command_list fold_commands(const std::string& session_id,
                           const fold_change& change);
/// `request.namespaces` are every namespace the session leaves; with
/// `original_layout`, on a single Redis, it leaves the original
/// Motorhead's indexes of them too.
write_plan delete_commands(const std::string& session_id,
                           const erase_request& request, uint64_t epoch,
                           const key_layout& layout,
                           bool original_layout = false);
/// A page of the sessions listed, oldest POST first, or the sessions after
/// a cursor. The shards of a split index are merged: each gives its first
/// sessions up to the page's end (after the cursor). With
/// `original_layout`, on a single Redis, the original Motorhead's index
/// (scored in seconds) is merged in.
command_list list_commands(const session_page& page, const key_layout& layout,
                           bool original_layout = false);
outcome<session_listing>
decode_list(const std::vector<redis_reply>& replies, const session_page& page,
            const key_layout& layout, bool original_layout = false);
command_list archive_commands(const std::string& session_id);
outcome<session_archive> decode_archive(const std::vector<redis_reply>& replies);

/// Stores vectors and clears their marks, in one fenced script;
/// `all_embedded` also takes the session off the list of sessions with work
/// pending.
write_plan vectors_commands(const std::string& session_id,
                            const vector_batch& batch, bool all_embedded,
                            const key_layout& layout);

/// Up to `limit` sessions with messages waiting for embeddings (from each
/// shard of the pending list).
command_list pending_embedding_commands(std::size_t limit,
                                        const key_layout& layout);
/// The session ids of every reply (each shard's, say), at most `limit`.
outcome<std::vector<std::string>>
decode_session_ids(const std::vector<redis_reply>& replies, std::size_t limit);

/// Every session listed under `ns`, each once; with `original_layout`, on
/// a single Redis, the original Motorhead's index of it too.
command_list namespace_sessions_commands(const std::string& ns,
                                         const key_layout& layout,
                                         bool original_layout);
outcome<std::vector<std::string>>
decode_namespace_sessions(const std::vector<redis_reply>& replies,
                          const key_layout& layout, bool original_layout);

/// Ends a namespace's deletion: a write in the namespace's slot that
/// leaves nothing, in the replication stream behind every write before it.
command_list forgotten_commands(const std::string& ns);

command_list ping_commands();

/// The first error among replies that only acknowledge, or "".
std::string first_error(const std::vector<redis_reply>& replies);

/// Whether a write's script refused it because the session has a newer
/// owner (its first reply is the script's).
bool is_fenced(const std::vector<redis_reply>& replies);

/// Whether a fold's script refused it because Redis no longer holds what
/// the fold was computed from: the writer's view of the session is stale.
bool is_stale(const std::vector<redis_reply>& replies);

/// Whether an append's script found every one of its message ids stored
/// already (a retry: not a refusal, the script vouches for the write that
/// stored them), or some of them (a conflict, refused); either way nothing
/// changed.
bool is_already_stored(const std::vector<redis_reply>& replies);
bool is_id_conflict(const std::vector<redis_reply>& replies);

/// Whether a conditional delete found the session updated since: nothing
/// changed.
bool is_touched(const std::vector<redis_reply>& replies);

/// Up to `limit` sessions of each shard of the session index whose last
/// POST or PATCH is at `cutoff_ms` or before, oldest first (read with
/// decode_session_ids).
command_list untouched_sessions_commands(int64_t cutoff_ms, std::size_t limit,
                                         const key_layout& layout);

} // namespace motorhead::store
