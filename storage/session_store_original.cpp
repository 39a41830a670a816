// The Redis layout of the original Motorhead's keys, and the scripts that
// move them into this layout: a whole session (on its first load, or by
// `motorhead migrate`), an entry of its indexes, a long-term memory hash.
#include "storage/original_layout.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "storage/lua_script.hpp"
#include "storage/session_store_internal.hpp"

namespace motorhead::store {

const std::string& original_move_lua() {
  // Moves the session when this layout has none of it: atomic (no crash
  // leaves half of it) and done once (a second run finds this layout and
  // moves nothing). KEYS: messages, meta, archive, unembedded, ids, the
  // original's session:ID (a list of "role: content", newest first),
  // context:ID, tokens:ID and sessions index, this layout's sessions index
  // and pending embeddings, then for each namespace to look for, the
  // original's index of it and this layout's. ARGV: ttl, always, session
  // id, archive (0/1), embed (0/1), then the namespaces. Each message gets
  // the seq of its place, oldest first, and the id "original-SEQ"; its
  // time is the session's last activity in the original's index. A line
  // without ": " the original skipped too. The session joins each
  // namespace whose original index lists it.
  static const std::string text = R"lua(
local moved = -1
if redis.call('EXISTS', KEYS[6], KEYS[7], KEYS[8]) > 0
  and redis.call('EXISTS', KEYS[1]) == 0
  and redis.call('HEXISTS', KEYS[2], 'next_seq') == 0 then
  local lines = redis.call('LRANGE', KEYS[6], 0, -1)
  local score = redis.call('ZSCORE', KEYS[9], ARGV[3])
  local at
  if score then
    at = string.format('%.0f', tonumber(score) * 1000)
  else
    local now = redis.call('TIME')
    at = string.format('%.0f', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
  end
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
             'created_at', at, 'updated_at', at)
  local context = redis.call('GET', KEYS[7])
  if context then
    redis.call('HSET', KEYS[2], 'context', context)
    redis.call('HINCRBY', KEYS[2], 'summary_gen', 1)
  end
  local tokens = tonumber(redis.call('GET', KEYS[8]) or '0')
  if tokens and tokens > 0 then
    redis.call('HSET', KEYS[2], 'tokens', string.format('%d', tokens))
  end
  redis.call('ZADD', KEYS[10], at, ARGV[3])
  if ARGV[5] == '1' and seq > 0 then
    redis.call('ZADD', KEYS[11], at, ARGV[3])
  end
  local joined = {}
  for n = 6, #ARGV do
    local theirs, ours = KEYS[2 * n], KEYS[2 * n + 1]
    if redis.call('ZREM', theirs, ARGV[3]) == 1 then
      redis.call('ZADD', ours, at, ARGV[3])
      joined[#joined + 1] = ARGV[n]
    end
  end
  if #joined > 0 then
    redis.call('HSET', KEYS[2], 'namespaces', cjson.encode(joined))
  end
  redis.call('DEL', KEYS[6], KEYS[7], KEYS[8])
  redis.call('ZREM', KEYS[9], ARGV[3])
  moved = seq
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
    "context:" + session_id, "tokens:" + session_id, "sessions",
    session_index_key(session_id, layout),
    pending_embeddings_key(session_id, layout)};
  redis_command args{unwritten_epoch_ttl, always, session_id,
                     import.archive ? "1" : "0", import.embed ? "1" : "0"};
  for (const auto& ns : import.namespaces) {
    keys.push_back("sessions:" + ns);
    keys.push_back(index_key(ns));
    args.push_back(ns);
  }
  return script.call(std::move(keys), std::move(args));
}

namespace {

const lua_script move_script{original_move_lua() + "return moved\n"};

// KEYS: the original's index, meta, the original's session:ID, this
// layout's index of the namespace (none for `sessions`). ARGV: session id,
// namespace ("" for none). Joining a namespace fences the session: a
// server holding it reads its namespaces again before its next write.
const lua_script settle_entry_script{R"lua(
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 'gone' end
if redis.call('EXISTS', KEYS[3]) == 1 then return 'waiting' end
if redis.call('HEXISTS', KEYS[2], 'next_seq') == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 'stale'
end
if ARGV[2] ~= '' then
  local listed = redis.call('HGET', KEYS[2], 'namespaces')
  local names = listed and cjson.decode(listed) or {}
  local known = false
  for _, name in ipairs(names) do
    known = known or name == ARGV[2]
  end
  if not known then
    names[#names + 1] = ARGV[2]
    redis.call('HSET', KEYS[2], 'namespaces', cjson.encode(names))
    redis.call('HINCRBY', KEYS[2], 'epoch', 1)
  end
  local at = tonumber(score) * 1000
  local ours = redis.call('ZSCORE', KEYS[4], ARGV[1])
  if not ours or tonumber(ours) < at then
    redis.call('ZADD', KEYS[4], string.format('%.0f', at), ARGV[1])
  end
end
redis.call('ZREM', KEYS[1], ARGV[1])
return 'joined'
)lua"};

// KEYS: the hash, messages, meta, archive, unembedded, vectors, ids,
// pending embeddings, the original's session:ID. ARGV: session id, keep
// the vector (0/1), embed (0/1), the embedding model, the message's id.
// A message of the window is one moved from the original's list with the
// same role and content and not matched before (the meta field
// original_matched lists those matched); its record joins the archive if
// the move did not archive it. An older message gets the next seq and the
// session's creation time (the original kept none per message). The
// session is fenced (its epoch goes up): a server holding it numbers its
// next messages after this one only once it read the session again.
const lua_script import_memory_script{R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone', 0} end
local f = redis.call('HMGET', KEYS[1], 'session', 'content', 'role', 'vector')
if f[1] ~= ARGV[1] or not f[2] or not f[3] then return {'unreadable', 0} end
if redis.call('EXISTS', KEYS[9]) == 1 then return {'waiting', 0} end
if redis.call('HEXISTS', KEYS[3], 'next_seq') == 0 then
  return {'no_session', 0}
end
local outcome = 'window'
local seq = redis.call('HGET', KEYS[7], ARGV[5])
if not seq then
  local listed = redis.call('HGET', KEYS[3], 'original_matched')
  local matched = listed and cjson.decode(listed) or {}
  local taken = {}
  for _, s in ipairs(matched) do taken[s] = true end
  for _, line in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
    local record = cjson.decode(line)
    if not seq and not taken[record.seq] and record.role == f[3]
      and record.content == f[2] and type(record.id) == 'string'
      and string.sub(record.id, 1, 9) == 'original-' then
      seq = record.seq
      redis.call('HSETNX', KEYS[4], seq, line)
    end
  end
  if seq then
    matched[#matched + 1] = seq
    redis.call('HSET', KEYS[3], 'original_matched', cjson.encode(matched))
  else
    outcome = 'archived'
    seq = tonumber(redis.call('HGET', KEYS[3], 'next_seq'))
    local at = redis.call('HGET', KEYS[3], 'created_at') or '0'
    local record = '{"seq":' .. seq
      .. ',"role":' .. cjson.encode(f[3])
      .. ',"content":' .. cjson.encode(f[2])
      .. ',"id":' .. cjson.encode(ARGV[5]) .. ',"created_at":' .. at .. '}'
    redis.call('HSET', KEYS[4], seq, record)
    redis.call('HSET', KEYS[3], 'next_seq', seq + 1)
    redis.call('HINCRBY', KEYS[3], 'message_count', 1)
  end
  redis.call('HSET', KEYS[7], ARGV[5], seq)
end
local vector = f[4] or ''
local dim = #vector / 4
local held = redis.call('HGET', KEYS[3], 'embedding_dim')
local kept = 0
if ARGV[2] == '1' and #vector > 0 and #vector % 4 == 0
  and (not held or tonumber(held) == dim) then
  redis.call('HSET', KEYS[6], seq, vector)
  redis.call('SREM', KEYS[5], seq)
  redis.call('HSET', KEYS[3], 'embedding_model', ARGV[4], 'embedding_dim', dim)
  kept = 1
elseif ARGV[3] == '1' and redis.call('HEXISTS', KEYS[6], seq) == 0 then
  redis.call('SADD', KEYS[5], seq)
  local now = redis.call('TIME')
  redis.call('ZADD', KEYS[8], tonumber(now[1]) * 1000, ARGV[1])
end
redis.call('HINCRBY', KEYS[3], 'epoch', 1)
redis.call('DEL', KEYS[1])
return {outcome, kept}
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
  redis_command keys{ns.empty() ? std::string{"sessions"} : "sessions:" + ns,
                     meta_key(session_id), "session:" + session_id};
  if (!ns.empty())
    keys.push_back(index_key(ns));
  return settle_entry_script.call(std::move(keys), {session_id, ns});
}

redis_command import_original_memory_command(
  const std::string& key, const std::string& session_id,
  const original_memory_import& import, const key_layout& layout) {
  auto message_id = "original-" + key.substr(memory_prefix.size());
  return import_memory_script.call(
    {key, messages_key(session_id), meta_key(session_id),
     archive_key(session_id), unembedded_key(session_id),
     vectors_key(session_id), ids_key(session_id),
     pending_embeddings_key(session_id, layout), "session:" + session_id},
    {session_id, import.keep_vector ? "1" : "0", import.embed ? "1" : "0",
     import.model, message_id});
}

} // namespace motorhead::store
