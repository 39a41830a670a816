// The Redis layout of a POST: the append script, which stores a session's
// new messages with their ids, archive and marks, and its command builder.
#include "storage/session_store.hpp"

#include <string>
#include <utility>
#include <vector>

#include "core/json_codec.hpp"
#include "storage/lua_script.hpp"
#include "storage/session_store_internal.hpp"

namespace motorhead::store {

namespace {

// KEYS: messages, meta, archive, unembedded, ids, then, on a single Redis,
// the pending embeddings, the sessions index and the index of each
// namespace, and last the original Motorhead's index of the namespace the
// session joins, which it leaves. ARGV: epoch, next_seq, has_context,
// context, the namespace the session joins ("" for none), archive (0/1),
// embed (0/1), session id, time (ms), has_metadata, metadata (JSON, "" for
// none), whether the last key is the original's index (0/1), then each
// message's id and seq, then each message's record. Answers 1 once it
// stored the POST. A POST whose message ids are all stored already is a
// retry: nothing changes, and the answer is the status STORED (not an
// error: the script vouches for the write that stored them); one that
// repeats only some changes nothing either (CONFLICT). The archive and
// the marks of messages waiting for an embedding are written with the
// messages, so none is ever lost. A new context starts a new summary generation. The time is the
// session's last update, its creation time if it has none, and its score
// in the indexes.
//
// Each call the script makes costs Redis beyond its command (about 7,000
// instructions: the arguments made Redis objects, the reply made Lua
// values), and each write is propagated to the AOF and the replicas on its
// own, so every structure is written with one call whatever the number of
// messages: the meta fields the script needs are read with the fence,
// the ids checked with one HMGET, and the new meta fields set with one
// HSET.
/// Where the script's arguments say whether its last key is the
/// original's index (ARGV[12]).
constexpr std::size_t original_index_arg = 11;

const lua_script append_script{join_namespace_lua + R"lua(
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'created_at',
                        'message_count', 'summary_gen')
if meta[1] ~= ARGV[1] then
  return )lua" + fenced_reply_lua + R"lua(
end
-- A command takes its arguments from Lua's stack, which holds about
-- 8,000: a longer list goes in parts of `part` elements (even, so that
-- id/seq pairs stay whole), each from `first` to last_of(first, to).
local part = 4000
local function last_of(first, to)
  local last = first + part - 1
  if last < to then return last end
  return to
end
local count = (#ARGV - 12) / 3
local pairs_from, records_from = 13, 13 + 2 * count
local ids = {}
for i = pairs_from, records_from - 1, 2 do ids[#ids + 1] = ARGV[i] end
local stored = 0
for first = 1, count, part do
  local found = redis.call('HMGET', KEYS[5], unpack(ids, first, last_of(first, count)))
  for i = 1, #found do
    if found[i] then stored = stored + 1 end
  end
end
if stored > 0 and stored < count then
  return redis.error_reply('CONFLICT ' .. stored .. ' of the ' .. count
    .. ' message ids are stored already: a POST repeats all of its ids or '
    .. 'none')
end
if stored > 0 then
  -- A write of a value Redis holds already: it goes into the replication
  -- stream behind the write that stored these ids, whichever connection
  -- that came on, so that a WAIT after this script covers that write too.
  redis.call('HSET', KEYS[2], 'epoch', ARGV[1])
  return redis.status_reply('STORED')
end
for first = pairs_from, records_from - 1, part do
  redis.call('HSET', KEYS[5], unpack(ARGV, first, last_of(first, records_from - 1)))
end
for first = records_from, #ARGV, part do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, first, last_of(first, #ARGV)))
end
if ARGV[6] == '1' then
  local archived = {}
  for i = 1, count do
    archived[#archived + 1] = ARGV[pairs_from + 2 * i - 1]
    archived[#archived + 1] = ARGV[records_from + i - 1]
  end
  for first = 1, #archived, part do
    redis.call('HSET', KEYS[3], unpack(archived, first, last_of(first, #archived)))
  end
end
if ARGV[7] == '1' then
  local seqs = {}
  for i = pairs_from + 1, records_from - 1, 2 do seqs[#seqs + 1] = ARGV[i] end
  for first = 1, #seqs, part do
    redis.call('SADD', KEYS[4], unpack(seqs, first, last_of(first, #seqs)))
  end
end
local fields = {'next_seq', ARGV[2], 'updated_at', ARGV[9],
                'message_count', tonumber(meta[3] or '0') + count}
-- A claim or a deletion left the meta hash to expire, and so may have a
-- move of the original's session over them by an earlier version.
redis.call('PERSIST', KEYS[2])
if not meta[2] then
  fields[#fields + 1] = 'created_at'
  fields[#fields + 1] = ARGV[9]
end
if ARGV[10] == '1' and ARGV[11] ~= '' then
  fields[#fields + 1] = 'metadata'
  fields[#fields + 1] = ARGV[11]
end
if ARGV[3] == '1' then
  fields[#fields + 1] = 'context'
  fields[#fields + 1] = ARGV[4]
  fields[#fields + 1] = 'summary_gen'
  fields[#fields + 1] = tonumber(meta[4] or '0') + 1
end
redis.call('HSET', KEYS[2], unpack(fields))
if ARGV[10] == '1' and ARGV[11] == '' then
  redis.call('HDEL', KEYS[2], 'metadata')
end
if ARGV[5] ~= '' then
  join_namespace(KEYS[2], ARGV[5])
end
local indexes_end = #KEYS - tonumber(ARGV[12])
for i = 7, indexes_end do
  redis.call('ZADD', KEYS[i], ARGV[9], ARGV[8])
end
if indexes_end < #KEYS and redis.call('TYPE', KEYS[#KEYS]).ok == 'zset' then
  redis.call('ZREM', KEYS[#KEYS], ARGV[8])
end
if #KEYS >= 6 and ARGV[7] == '1' and count > 0 then
  redis.call('ZADD', KEYS[6], ARGV[9], ARGV[8])
end
return 1
)lua"};

} // namespace

write_plan append_commands(const std::string& session_id,
                           const append_change& change, int64_t now_ms,
                           const key_layout& layout, bool original_layout) {
  redis_command keys{messages_key(session_id), meta_key(session_id),
                     archive_key(session_id), unembedded_key(session_id),
                     ids_key(session_id)};
  redis_command args{std::to_string(change.epoch),
                     std::to_string(change.next_seq),
                     change.context ? "1" : "0",
                     change.context.value_or(""),
                     change.added_namespace.value_or(""),
                     change.archive ? "1" : "0",
                     change.embed ? "1" : "0",
                     session_id,
                     std::to_string(now_ms),
                     change.session_metadata ? "1" : "0",
                     change.session_metadata.value_or(""),
                     "0"};
  for (const auto& msg : change.messages) {
    args.push_back(msg.details.id);
    args.push_back(std::to_string(msg.seq));
  }
  for (const auto& msg : change.messages)
    args.push_back(json::encode_stored_message(msg));
  write_plan plan;
  std::vector<std::string> indexes{session_index_key(session_id, layout)};
  for (const auto& ns : change.namespaces)
    indexes.push_back(index_key(ns));
  auto pending = pending_embeddings_key(session_id, layout);
  if (layout.indexes_in_scripts) {
    keys.push_back(pending);
    keys.insert(keys.end(), indexes.begin(), indexes.end());
    if (change.added_namespace)
      keys.push_back(index_key(change.added_namespace));
    // The original's index of the namespace lists the session no more
    // once this layout's does: listings would walk it for nothing.
    if (change.added_namespace && original_layout) {
      keys.push_back(original_index_key(*change.added_namespace));
      args[original_index_arg] = "1";
    }
  } else {
    auto score = std::to_string(now_ms);
    for (auto& index : indexes)
      plan.index_updates.push_back({"ZADD", std::move(index), score, session_id});
    if (change.added_namespace)
      plan.new_index_updates.push_back(
        {"ZADD", index_key(change.added_namespace), score, session_id});
    if (change.embed && !change.messages.empty())
      plan.new_index_updates.push_back({"ZADD", pending, score, session_id});
    // An acknowledged POST is found wherever it is listed: by the session
    // list (retention) and by its namespaces' (a namespace's deletion).
    plan.indexes_required = true;
  }
  plan.commands.push_back(append_script.call(std::move(keys), std::move(args)));
  return plan;
}

} // namespace motorhead::store
