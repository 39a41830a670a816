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

// KEYS: messages, meta, ids; then archive when the messages are archived,
// unembedded when they wait for embeddings, and, on a single Redis, the
// pending embeddings (when they wait), the sessions index and the index of
// each namespace, and last the original Motorhead's index of the namespace
// the session joins, which it leaves. ARGV: epoch, next_seq, flags (below),
// session id, time (ms); then the context, the metadata (JSON, "" to
// remove it) and the namespace the session joins, each only when its flag
// says so; then each message's id and seq, then each message's record.
//
// Answers 1 once it stored the POST. A POST whose message ids are all
// stored already is a retry: nothing changes, and the answer is the status
// STORED (not an error: the script vouches for the write that stored
// them); one that repeats only some changes nothing either (CONFLICT).
// Only the ids a client gave are looked up: a UUID the server just made is
// stored nowhere yet. The archive and the marks of messages waiting for an
// embedding are written with the messages, so none is ever lost. A new
// context starts a new summary generation. The time is the session's last
// update, its creation time if it has none, and its score in the indexes.
//
// What a call costs Redis beyond its commands is mostly per argument (about
// 1,400 instructions each: a Redis object, then a Lua string) and per
// `redis.call` (about 7,000: the arguments made Redis objects, the reply
// made Lua values), and each write is propagated to the AOF and the
// replicas on its own. So the script takes only the keys and arguments a
// POST uses, and writes every structure with one call whatever the number
// of messages: the meta fields it needs are read with the fence and set
// with one HSET.
namespace append_flag {
constexpr char context = 'c';         // ARGV carries the new context
constexpr char metadata = 'm';        // ...the session's metadata
constexpr char joins_namespace = 'n'; // ...the namespace it joins
constexpr char archive = 'a';         // KEYS carries the archive
constexpr char embed = 'e';           // ...the unembedded marks
constexpr char pending_key = 'p';     // ...the pending embeddings
constexpr char original_index = 'o';  // the last key is the original's index
constexpr char client_ids = 'i';      // some ids are the client's: look them up
} // namespace append_flag

const lua_script append_script{join_namespace_lua + R"lua(
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'created_at',
                        'message_count', 'summary_gen')
if meta[1] ~= ARGV[1] then
  return )lua" + fenced_reply_lua + R"lua(
end
-- Each letter of the flags is a key of `has`. (A call of string.find per
-- flag cost the script 10 % more than this loop over the letters given.)
local has = {}
for i = 1, #ARGV[3] do has[string.sub(ARGV[3], i, i)] = true end
-- The keys and arguments a POST may leave out come in a fixed order, each
-- when its flag is set.
local next_key, next_arg = 4, 6
local context, metadata, joined, archive, unembedded, pending
if has.c then context = ARGV[next_arg]; next_arg = next_arg + 1 end
if has.m then metadata = ARGV[next_arg]; next_arg = next_arg + 1 end
if has.n then joined = ARGV[next_arg]; next_arg = next_arg + 1 end
if has.a then archive = KEYS[next_key]; next_key = next_key + 1 end
if has.e then unembedded = KEYS[next_key]; next_key = next_key + 1 end
if has.p then pending = KEYS[next_key]; next_key = next_key + 1 end
-- A command takes its arguments from Lua's stack, which holds about
-- 8,000: a longer list goes in parts of `part` elements (even, so that
-- id/seq pairs stay whole), each from `first` to
-- math.min(first + part - 1, last).
local part = 4000
local pairs_from = next_arg
local count = (#ARGV - pairs_from + 1) / 3
local records_from = pairs_from + 2 * count
if has.i then
  local ids = {}
  for i = pairs_from, records_from - 1, 2 do ids[#ids + 1] = ARGV[i] end
  local stored = 0
  for first = 1, count, part do
    local found = redis.call('HMGET', KEYS[3], unpack(ids, first, math.min(first + part - 1, count)))
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
end
for first = pairs_from, records_from - 1, part do
  redis.call('HSET', KEYS[3], unpack(ARGV, first, math.min(first + part - 1, records_from - 1)))
end
for first = records_from, #ARGV, part do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, first, math.min(first + part - 1, #ARGV)))
end
if archive then
  local archived = {}
  for i = 1, count do
    archived[#archived + 1] = ARGV[pairs_from + 2 * i - 1]
    archived[#archived + 1] = ARGV[records_from + i - 1]
  end
  for first = 1, #archived, part do
    redis.call('HSET', archive, unpack(archived, first, math.min(first + part - 1, #archived)))
  end
end
if unembedded then
  local seqs = {}
  for i = pairs_from + 1, records_from - 1, 2 do seqs[#seqs + 1] = ARGV[i] end
  for first = 1, #seqs, part do
    redis.call('SADD', unembedded, unpack(seqs, first, math.min(first + part - 1, #seqs)))
  end
end
local fields = {'next_seq', ARGV[2], 'updated_at', ARGV[5],
                'message_count', tonumber(meta[3] or '0') + count}
-- A claim or a deletion left the meta hash to expire, and so may have a
-- move of the original's session over them by an earlier version.
redis.call('PERSIST', KEYS[2])
if not meta[2] then
  fields[#fields + 1] = 'created_at'
  fields[#fields + 1] = ARGV[5]
end
if metadata and metadata ~= '' then
  fields[#fields + 1] = 'metadata'
  fields[#fields + 1] = metadata
end
if context then
  fields[#fields + 1] = 'context'
  fields[#fields + 1] = context
  fields[#fields + 1] = 'summary_gen'
  fields[#fields + 1] = tonumber(meta[4] or '0') + 1
end
redis.call('HSET', KEYS[2], unpack(fields))
if metadata == '' then
  redis.call('HDEL', KEYS[2], 'metadata')
end
if joined then
  join_namespace(KEYS[2], joined)
end
local indexes_end = #KEYS
if has.o then indexes_end = #KEYS - 1 end
for i = next_key, indexes_end do
  redis.call('ZADD', KEYS[i], ARGV[5], ARGV[4])
end
if indexes_end < #KEYS and redis.call('TYPE', KEYS[#KEYS]).ok == 'zset' then
  redis.call('ZREM', KEYS[#KEYS], ARGV[4])
end
if pending and count > 0 then
  redis.call('ZADD', pending, ARGV[5], ARGV[4])
end
return 1
)lua"};

} // namespace

write_plan append_commands(const std::string& session_id,
                           const append_change& change, int64_t now_ms,
                           const key_layout& layout, bool original_layout) {
  std::string flags;
  redis_command keys{messages_key(session_id), meta_key(session_id),
                     ids_key(session_id)};
  redis_command args{std::to_string(change.epoch),
                     std::to_string(change.next_seq), "", session_id,
                     std::to_string(now_ms)};
  auto add_arg = [&](char flag, const std::string& arg) {
    flags += flag;
    args.push_back(arg);
  };
  auto add_key = [&](char flag, std::string key) {
    flags += flag;
    keys.push_back(std::move(key));
  };
  if (change.context)
    add_arg(append_flag::context, *change.context);
  if (change.session_metadata)
    add_arg(append_flag::metadata, *change.session_metadata);
  if (change.added_namespace)
    add_arg(append_flag::joins_namespace, *change.added_namespace);
  if (change.archive)
    add_key(append_flag::archive, archive_key(session_id));
  if (change.embed)
    add_key(append_flag::embed, unembedded_key(session_id));
  if (change.client_ids)
    flags += append_flag::client_ids;
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
    if (change.embed)
      add_key(append_flag::pending_key, pending);
    keys.insert(keys.end(), indexes.begin(), indexes.end());
    if (change.added_namespace)
      keys.push_back(index_key(change.added_namespace));
    // The original's index of the namespace lists the session no more
    // once this layout's does: listings would walk it for nothing.
    if (change.added_namespace && original_layout)
      add_key(append_flag::original_index,
              original_index_key(*change.added_namespace));
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
  args[2] = std::move(flags);
  plan.commands.push_back(append_script.call(std::move(keys), std::move(args)));
  return plan;
}

} // namespace motorhead::store
