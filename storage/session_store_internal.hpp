// Private to the session store's files: the fence every write script opens
// with, the names of the split indexes and the helpers the script families
// share. Users include storage/session_store.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/session_store.hpp"

namespace motorhead::store {

// Every write script starts with the fence: the session's epoch in Redis
// must be the one the writing actor claimed when it loaded the session.
// A newer owner has claimed a higher one; the stale owner's write fails.
// (An inline variable: each file's scripts, defined after this header, are
// initialized after it.)
inline const std::string fenced_reply_lua
  = "redis.error_reply('FENCED the session has a newer owner')";
inline const std::string fence = R"lua(
if redis.call('HGET', KEYS[2], 'epoch') ~= ARGV[1] then
  return )lua" + fenced_reply_lua + R"lua(
end
)lua";

// join_namespace(meta, ns): adds `ns` to the session's list of namespaces
// (the meta field `namespaces`, a JSON array); true when it was not there.
// A script that uses it starts with this text.
inline const std::string join_namespace_lua = R"lua(
local function join_namespace(meta, ns)
  local listed = redis.call('HGET', meta, 'namespaces')
  local names = listed and cjson.decode(listed) or {}
  for _, name in ipairs(names) do
    if name == ns then return false end
  end
  names[#names + 1] = ns
  redis.call('HSET', meta, 'namespaces', cjson.encode(names))
  return true
end
)lua";

// On a single Redis, the index entries of a session are written by its
// fenced scripts, so a stale owner can neither list nor unlist a session.
// On a Redis Cluster (indexes in other slots) the scripts get only the
// session's keys; the index updates follow a script that succeeded.

inline constexpr std::string_view session_list_name = "motorhead:sessions";
inline constexpr std::string_view pending_list_name
  = "motorhead:embedding:pending";

/// How long the epoch of a session that was read but never written lives.
inline const std::string unwritten_epoch_ttl = "86400";

/// The key of one shard of an index (its number is its hash tag), or the
/// index itself when the layout does not split it.
std::string shard_key(std::string_view name, unsigned shard,
                      const key_layout& layout);

class lua_script;

/// The start of a script that moves a session found only in the original
/// Motorhead's keys into this layout; it leaves in `moved` how many
/// messages it moved, or -1 when there was nothing to move. Its keys and
/// arguments are original_move_call's; a claim or a return follows it.
const std::string& original_move_lua();

/// Calls `script`, which starts with original_move_lua.
redis_command original_move_call(const lua_script& script,
                                 const std::string& session_id,
                                 const char* always,
                                 const original_import& import,
                                 const key_layout& layout);

/// The original Motorhead's index of a namespace, or of the sessions
/// posted without one: scored in Unix seconds.
inline std::string original_index_key(const std::optional<std::string>& ns) {
  return ns ? "sessions:" + *ns : std::string{"sessions"};
}

/// Reads a whole decimal number into `out`; false when `text` is not one.
bool parse_u64(const std::string& text, uint64_t& out);

} // namespace motorhead::store
