// The Redis layout of the original Motorhead's keys, and the scripts that
// move them into this layout: a whole session (on its first load, or by
// `motorhead migrate`), an entry of its indexes, a long-term memory hash.
#include "storage/original_layout.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "core/json_codec.hpp"
#include "storage/lua_script.hpp"
#include "storage/session_store_internal.hpp"

namespace motorhead::store {

const std::string& original_move_lua() {
  // Moves the session when this layout has none of it: atomic (every
  // check comes before the first write, so no error leaves half of it) and
  // done once (a second run finds this layout and moves nothing). Only a
  // list at session:ID is the original's session, and only a string at
  // context:ID and tokens:ID its context and tokens: a key of another
  // program with one of these names is left alone. KEYS: messages, meta,
  // archive, unembedded, ids, the original's session:ID (a list of "role:
  // content", newest first), context:ID, tokens:ID and sessions index,
  // this layout's sessions index and pending embeddings, then for each
  // namespace the session is known to be in, the original's index of it
  // and this layout's. ARGV: ttl, always, session id, archive (0/1), embed
  // (0/1), then the namespaces. Each message gets the seq of its place,
  // oldest first, and the id "original-SEQ"; its time is the session's
  // latest activity in the original's indexes. A line without ": " the
  // original skipped too. `moved` is -2 when both layouts hold the session
  // (this server wrote it with the original's layout off): nothing moves.
  // The meta field `original` marks a moved session.
  static const std::string text = R"lua(
local moved = -1
local function is(key, kind)
  return redis.call('TYPE', key).ok == kind
end
if is(KEYS[6], 'list') then
  if redis.call('EXISTS', KEYS[1]) == 1
    or redis.call('HEXISTS', KEYS[2], 'next_seq') == 1 then
    moved = -2
  else
    local latest
    local function seen_at(index)
      if is(index, 'zset') then
        local score = tonumber(redis.call('ZSCORE', index, ARGV[3]))
        if score and (not latest or score > latest) then latest = score end
      end
    end
    seen_at(KEYS[9])
    for n = 6, #ARGV do seen_at(KEYS[2 * n]) end
    local at
    if latest then
      at = string.format('%.0f', latest * 1000)
    else
      local now = redis.call('TIME')
      at = string.format('%.0f', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
    end
    local context = is(KEYS[7], 'string') and redis.call('GET', KEYS[7])
    local tokens = is(KEYS[8], 'string') and tonumber(redis.call('GET', KEYS[8]))
    local lines = redis.call('LRANGE', KEYS[6], 0, -1)
    local seq = 0
    for i = #lines, 1, -1 do
      local colon = string.find(lines[i], ': ', 1, true)
      if colon then
        seq = seq + 1
        local id = 'original-' .. seq
        local record = '{"seq":' .. seq
          .. ',"role":' .. cjson.encode(string.sub(lines[i], 1, colon - 1))
          .. ',"content":' .. cjson.encode(string.sub(lines[i], colon + 2))
          .. ',"id":' .. cjson.encode(id) .. ',"created_at":' .. at .. '}'
        redis.call('RPUSH', KEYS[1], record)
        redis.call('HSET', KEYS[5], id, seq)
        if ARGV[4] == '1' then redis.call('HSET', KEYS[3], seq, record) end
        if ARGV[5] == '1' then redis.call('SADD', KEYS[4], seq) end
      end
    end
    redis.call('HSET', KEYS[2], 'next_seq', seq + 1, 'message_count', seq,
               'created_at', at, 'updated_at', at, 'original', 1)
    -- A deletion or a claim of this id may have left the hash to expire.
    redis.call('PERSIST', KEYS[2])
    if context then
      redis.call('HSET', KEYS[2], 'context', context)
      redis.call('HINCRBY', KEYS[2], 'summary_gen', 1)
      redis.call('DEL', KEYS[7])
    end
    if tokens then
      if tokens > 0 then
        redis.call('HSET', KEYS[2], 'tokens', string.format('%d', tokens))
      end
      redis.call('DEL', KEYS[8])
    end
    redis.call('ZADD', KEYS[10], at, ARGV[3])
    if ARGV[5] == '1' and seq > 0 then
      redis.call('ZADD', KEYS[11], at, ARGV[3])
    end
    local joined = {}
    for n = 6, #ARGV do
      local theirs, ours = KEYS[2 * n], KEYS[2 * n + 1]
      if is(theirs, 'zset') and redis.call('ZREM', theirs, ARGV[3]) == 1 then
        redis.call('ZADD', ours, at, ARGV[3])
        joined[#joined + 1] = ARGV[n]
      end
    end
    if #joined > 0 then
      redis.call('HSET', KEYS[2], 'namespaces', cjson.encode(joined))
    end
    redis.call('DEL', KEYS[6])
    if is(KEYS[9], 'zset') then redis.call('ZREM', KEYS[9], ARGV[3]) end
    moved = seq
  end
end
)lua";
  return text;
}

redis_command original_move_call(const lua_script& script,
                                 const std::string& session_id,
                                 const char* always,
                                 const original_import& import,
                                 const key_layout& layout) {
  redis_command keys{
    messages_key(session_id), meta_key(session_id), archive_key(session_id),
    unembedded_key(session_id), ids_key(session_id), "session:" + session_id,
    "context:" + session_id, "tokens:" + session_id, original_index_key({}),
    session_index_key(session_id, layout),
    pending_embeddings_key(session_id, layout)};
  redis_command args{unwritten_epoch_ttl, always, session_id,
                     import.archive ? "1" : "0", import.embed ? "1" : "0"};
  for (const auto& ns : import.namespaces) {
    keys.push_back(original_index_key(ns));
    keys.push_back(index_key(ns));
    args.push_back(ns);
  }
  return script.call(std::move(keys), std::move(args));
}

namespace {

const lua_script move_script{original_move_lua() + "return moved\n"};

// list_at_latest(index, id, at): lists `id` in `index` at `at` (ms),
// unless it is listed there later already.
const std::string list_at_latest_lua = R"lua(
local function list_at_latest(index, id, at)
  local current = redis.call('ZSCORE', index, id)
  if not current or tonumber(current) < at then
    redis.call('ZADD', index, string.format('%.0f', at), id)
  end
end
)lua";

// KEYS: the original's index, meta, the original's session:ID, this
// layout's index of the namespace (none for `sessions`). ARGV: session id,
// namespace ("" for none). A session moved earlier (marked `original`)
// without this namespace joins it, and is fenced: a server holding it
// reads its namespaces again before its next write. The entry of a
// session that is not the original's (deleted, or another's of the same
// id) is stale: dropped.
const lua_script settle_entry_script{join_namespace_lua + list_at_latest_lua
                                     + R"lua(
if redis.call('TYPE', KEYS[1]).ok ~= 'zset' then return 'gone' end
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 'gone' end
if redis.call('TYPE', KEYS[3]).ok == 'list' then
  if redis.call('HEXISTS', KEYS[2], 'next_seq') == 1 then return 'both' end
  return 'waiting'
end
if redis.call('HEXISTS', KEYS[2], 'original') == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 'stale'
end
if ARGV[2] ~= '' then
  if join_namespace(KEYS[2], ARGV[2]) then
    redis.call('HINCRBY', KEYS[2], 'epoch', 1)
  end
  list_at_latest(KEYS[4], ARGV[1], tonumber(score) * 1000)
end
redis.call('ZREM', KEYS[1], ARGV[1])
return 'joined'
)lua"};

// KEYS: messages, meta, archive, unembedded, vectors, ids, pending
// embeddings, the original's session:ID, then long-term memory hashes of
// the session. ARGV: session id, keep the vectors (0/1), embed (0/1), the
// embedding model, then each hash's nanoid. Answers [outcome, 1 when the
// vector was kept] per hash.
//
// A hash whose message was moved with the session (same role and content,
// not matched before: the meta field original_matched lists the seqs
// matched) gives that message its vector, and its record joins the
// archive if the move did not archive it. A hash of an older message
// joins the archive under a seq of its own range, counted up from
// 10^13: a server holding the session numbers its new messages from
// next_seq, so neither collides with the other and the session need not
// be fenced. Its time is the session's creation (the original kept none
// per message). The hash of a session that is not marked as moved (it was
// deleted, here or by the original) is deleted: deleted memory does not
// come back.
const lua_script import_memory_script{R"lua(
local first_hash = 9
local results = {}
local waiting = redis.call('TYPE', KEYS[8]).ok == 'list'
local moved = redis.call('HEXISTS', KEYS[2], 'original') == 1
local pool, matched_now, matched_text
local function build_pool()
  pool = {}
  matched_now = {}
  matched_text = redis.call('HGET', KEYS[2], 'original_matched')
  local taken = {}
  if matched_text then
    for _, s in ipairs(cjson.decode(matched_text)) do taken[s] = true end
  end
  local lines = redis.call('HVALS', KEYS[3])
  for _, line in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
    lines[#lines + 1] = line
  end
  for _, line in ipairs(lines) do
    local record = cjson.decode(line)
    local seq = tostring(record.seq)
    if type(record.id) == 'string' and string.match(record.id, '^original%-%d+$')
      and not taken[seq] then
      taken[seq] = true
      local text = tostring(record.role) .. '\0' .. tostring(record.content)
      pool[text] = pool[text] or {}
      table.insert(pool[text], {seq = seq, line = line})
    end
  end
end
local function import(key, nanoid)
  if redis.call('TYPE', key).ok ~= 'hash' then return {'gone', 0} end
  local f = redis.call('HMGET', key, 'session', 'content', 'role', 'vector')
  if f[1] ~= ARGV[1] or not f[2] or not f[3] then return {'unreadable', 0} end
  if waiting then return {'waiting', 0} end
  if not moved then
    redis.call('DEL', key)
    return {'deleted', 0}
  end
  local id = 'original-memory-' .. nanoid
  local seq = redis.call('HGET', KEYS[6], id)
  local outcome = 'window'
  if not seq then
    if not pool then build_pool() end
    local same = pool[f[3] .. '\0' .. f[2]]
    if same and #same > 0 then
      local found = table.remove(same, 1)
      seq = found.seq
      redis.call('HSETNX', KEYS[3], seq, found.line)
      matched_now[#matched_now + 1] = seq
    else
      outcome = 'archived'
      seq = string.format('%d', 1e13 + redis.call('HINCRBY', KEYS[2], 'original_memory_seq', 1))
      local at = redis.call('HGET', KEYS[2], 'created_at') or '0'
      local record = '{"seq":' .. seq
        .. ',"role":' .. cjson.encode(f[3])
        .. ',"content":' .. cjson.encode(f[2])
        .. ',"id":' .. cjson.encode(id) .. ',"created_at":' .. at .. '}'
      redis.call('HSET', KEYS[3], seq, record)
      redis.call('HINCRBY', KEYS[2], 'message_count', 1)
    end
    redis.call('HSET', KEYS[6], id, seq)
  end
  local vector = f[4] or ''
  local dim = #vector / 4
  local held = redis.call('HGET', KEYS[2], 'embedding_dim')
  local kept = 0
  if ARGV[2] == '1' and #vector > 0 and #vector % 4 == 0
    and (not held or tonumber(held) == dim) then
    redis.call('HSET', KEYS[5], seq, vector)
    redis.call('SREM', KEYS[4], seq)
    redis.call('HSET', KEYS[2], 'embedding_model', ARGV[4], 'embedding_dim', dim)
    kept = 1
  elseif ARGV[3] == '1' and redis.call('HEXISTS', KEYS[5], seq) == 0 then
    redis.call('SADD', KEYS[4], seq)
    local now = redis.call('TIME')
    redis.call('ZADD', KEYS[7], tonumber(now[1]) * 1000, ARGV[1])
  end
  redis.call('DEL', key)
  return {outcome, kept}
end
for i = first_hash, #KEYS do
  results[#results + 1] = import(KEYS[i], ARGV[i - first_hash + 5])
end
if matched_now and #matched_now > 0 then
  local all = matched_text and cjson.decode(matched_text) or {}
  for _, seq in ipairs(matched_now) do all[#all + 1] = seq end
  redis.call('HSET', KEYS[2], 'original_matched', cjson.encode(all))
end
return results
)lua"};

// KEYS: meta, then for each namespace, the original's index of it and
// this layout's. ARGV: session id, then the namespaces. A session moved
// from the original's keys (marked `original`) that the original listed
// under one of them joins it (the key scoped to it then reaches the
// session); an entry of any other session of that id is stale and no
// reason to join. Answers the session's namespaces (JSON), or nil.
const lua_script adopt_namespaces_script{join_namespace_lua
                                         + list_at_latest_lua + R"lua(
if redis.call('HEXISTS', KEYS[1], 'next_seq') == 0 then return nil end
local moved = redis.call('HEXISTS', KEYS[1], 'original') == 1
for n = 2, moved and #ARGV or 1 do
  local theirs, ours = KEYS[2 * n - 2], KEYS[2 * n - 1]
  local score = redis.call('TYPE', theirs).ok == 'zset'
    and redis.call('ZSCORE', theirs, ARGV[1])
  if score then
    redis.call('ZREM', theirs, ARGV[1])
    join_namespace(KEYS[1], ARGV[n])
    list_at_latest(ours, ARGV[1], tonumber(score) * 1000)
  end
end
return redis.call('HGET', KEYS[1], 'namespaces')
)lua"};

constexpr std::string_view memory_prefix = "motorhead:";
constexpr std::size_t nanoid_length = 21;

bool is_nanoid_character(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

} // namespace

redis_command original_scan_command(original_key_kind kind,
                                    const std::string& cursor) {
  // The memory pattern's 21 '?' match the shape's length; the characters
  // are checked by is_original_memory.
  static const std::string memory_pattern
    = std::string{memory_prefix} + std::string(nanoid_length, '?');
  switch (kind) {
    case original_key_kind::session:
      return {"SCAN", cursor, "MATCH", "session:*", "COUNT", "1000", "TYPE",
              "list"};
    case original_key_kind::index:
      return {"SCAN", cursor, "MATCH", "sessions*", "COUNT", "1000", "TYPE",
              "zset"};
    case original_key_kind::memory:
      break;
  }
  return {"SCAN", cursor, "MATCH", memory_pattern, "COUNT", "1000", "TYPE",
          "hash"};
}

std::optional<std::string> original_session_of(std::string_view key) {
  constexpr std::string_view prefix = "session:";
  if (key.size() <= prefix.size() || key.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  return std::string{key.substr(prefix.size())};
}

bool is_original_index(std::string_view key, std::string& ns) {
  constexpr std::string_view plain = "sessions";
  if (key == plain) {
    ns.clear();
    return true;
  }
  if (key.size() <= plain.size() + 1 || key.substr(0, plain.size() + 1) != "sessions:")
    return false;
  ns = std::string{key.substr(plain.size() + 1)};
  return true;
}

bool is_original_memory(std::string_view key) {
  if (key.size() != memory_prefix.size() + nanoid_length
      || key.substr(0, memory_prefix.size()) != memory_prefix)
    return false;
  auto id = key.substr(memory_prefix.size());
  return std::all_of(id.begin(), id.end(), is_nanoid_character);
}

redis_command move_original_command(const std::string& session_id,
                                    const original_import& import,
                                    const key_layout& layout) {
  return original_move_call(move_script, session_id, "0", import, layout);
}

redis_command settle_original_entry_command(const std::string& ns,
                                            const std::string& session_id) {
  redis_command keys{original_index_key(ns.empty() ? std::nullopt : std::optional<std::string>{ns}),
                     meta_key(session_id), "session:" + session_id};
  if (!ns.empty())
    keys.push_back(index_key(ns));
  return settle_entry_script.call(std::move(keys), {session_id, ns});
}

redis_command import_original_memory_command(
  const std::string& session_id, const std::vector<std::string>& keys,
  const original_memory_import& import, const key_layout& layout) {
  redis_command script_keys{
    messages_key(session_id), meta_key(session_id), archive_key(session_id),
    unembedded_key(session_id), vectors_key(session_id), ids_key(session_id),
    pending_embeddings_key(session_id, layout), "session:" + session_id};
  redis_command args{session_id, import.keep_vector ? "1" : "0",
                     import.embed ? "1" : "0", import.model};
  for (const auto& key : keys) {
    script_keys.push_back(key);
    args.push_back(key.substr(memory_prefix.size()));
  }
  return import_memory_script.call(std::move(script_keys), std::move(args));
}

redis_command adopt_original_namespaces_command(
  const std::string& session_id, const std::vector<std::string>& namespaces,
  const key_layout& layout) {
  if (!layout.indexes_in_scripts) // the original ran on a single Redis
    return {"HGET", meta_key(session_id), "namespaces"};
  redis_command keys{meta_key(session_id)};
  redis_command args{session_id};
  for (const auto& ns : namespaces) {
    keys.push_back(original_index_key(ns));
    keys.push_back(index_key(ns));
    args.push_back(ns);
  }
  return adopt_namespaces_script.call(std::move(keys), std::move(args));
}

outcome<std::vector<std::string>>
decode_adopted_namespaces(const redis_reply& reply) {
  using result = outcome<std::vector<std::string>>;
  if (reply.is_error())
    return result::failure(reply.text);
  if (reply.type != redis_reply::kind::string)
    return {std::vector<std::string>{}, {}};
  auto names = json::decode_string_list(reply.text);
  if (!names)
    return result::failure("corrupt namespaces field: " + names.error);
  return {std::move(*names.value), {}};
}

} // namespace motorhead::store
