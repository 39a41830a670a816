// The Redis layout of reading sessions without a claim: a session's info,
// and the pages and lists of sessions the indexes give.
#include "storage/session_store.hpp"

#include <cmath>
#include <cstdlib>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/json_codec.hpp"
#include "storage/lua_script.hpp"
#include "storage/session_store_internal.hpp"

namespace motorhead::store {

command_list info_commands(const std::string& session_id) {
  return {{"HMGET", meta_key(session_id), "next_seq", "created_at",
           "updated_at", "message_count", "metadata", "namespaces"}};
}

outcome<session_info> decode_info(const std::vector<redis_reply>& replies) {
  using result = outcome<session_info>;
  if (auto err = first_error(replies); !err.empty())
    return result::failure(err);
  const auto& fields = replies.at(0).elements;
  if (fields.size() != 6)
    return result::failure("HMGET answered " + std::to_string(fields.size())
                           + " fields, not 6");
  session_info info;
  auto given = [&](std::size_t i) {
    return fields[i].type != redis_reply::kind::nil;
  };
  // Every POST and PATCH sets next_seq; a DELETE removes it.
  info.exists = given(0);
  uint64_t next_seq = 0;
  uint64_t created = 0;
  uint64_t updated = 0;
  if ((given(0) && !parse_u64(fields[0].text, next_seq))
      || (given(1) && !parse_u64(fields[1].text, created))
      || (given(2) && !parse_u64(fields[2].text, updated))
      || (given(3) && !parse_u64(fields[3].text, info.message_count)))
    return result::failure("corrupt session fields in Redis");
  info.created_at = static_cast<int64_t>(created);
  info.updated_at = static_cast<int64_t>(updated);
  // Sessions written before the count was kept: every seq was a message.
  if (!given(3) && next_seq > 0)
    info.message_count = next_seq - 1;
  info.metadata = fields[4].text;
  if (given(5)) {
    auto list = json::decode_string_list(fields[5].text);
    if (!list)
      return result::failure("corrupt namespaces field: " + list.error);
    info.namespaces = std::move(*list.value);
  }
  return {std::move(info), {}};
}

namespace {

/// Whether a listing reads the original's index too: it ran on a single
/// Redis only.
bool lists_original(const key_layout& layout, bool original_layout) {
  return original_layout && layout.indexes_in_scripts;
}

// The first `n` entries of the sorted set `key`, with their scores, that
// come after (`score`, `id`) in its order: from its first when `score` is
// "" (all of them when `n` is 0). Members of equal score are in byte order, as Redis keeps them
// (compared byte by byte: Lua's own comparison follows the locale).
const std::string page_after_lua = R"lua(
local function byte_order_le(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a <= #b
end
local function ties_up_to(key, score, id)
  local skip = 0
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', key, score, score)) do
    if byte_order_le(member, id) then skip = skip + 1 end
  end
  return skip
end
local function page_after(key, score, id, n)
  if score == '' then
    return redis.call('ZRANGE', key, 0, n > 0 and n - 1 or -1, 'WITHSCORES')
  end
  return redis.call('ZRANGEBYSCORE', key, score, '+inf', 'WITHSCORES',
                    'LIMIT', ties_up_to(key, score, id), n > 0 and n or -1)
end
)lua";

const lua_script page_after_script{page_after_lua + R"lua(
return page_after(KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]))
)lua"};

// KEYS: this layout's index, the original's. ARGV: how many of each to
// read (0: all); the start and end of a session's meta key around its id;
// the position to read after: a time in ms ("" from the first) and an id.
// Answers both, with their scores. The original's scores are seconds,
// compared as whole ms as the merged listing orders them (a score another
// program wrote may have a fraction of a ms). An entry of the original's index counts when its
// session is the original's: not in this layout yet (its list is there),
// or moved (the meta field `original`) and not listed here yet. Other
// entries (a session deleted, listed here already, or this server's own of
// the same id) and ids this server refuses (1..256 of [A-Za-z0-9._:@-])
// are skipped, not removed: a read writes nothing, and the original may be
// writing the entry's session still. The session keys are computed here:
// the original's layout exists only on a single Redis. An original index
// that is not a sorted set lists nothing.
const lua_script original_listing_script{page_after_lua + R"lua(
local want = tonumber(ARGV[1])
local ours = page_after(KEYS[1], ARGV[4], ARGV[5], want)
local theirs = {}
local function accepted(id)
  return #id >= 1 and #id <= 256 and not string.find(id, '[^%w%._:@%-]')
end
local function counts(id)
  if redis.call('ZSCORE', KEYS[1], id) then return false end
  local meta = ARGV[2] .. id .. ARGV[3]
  if redis.call('HEXISTS', meta, 'next_seq') == 1 then
    return redis.call('HEXISTS', meta, 'original') == 1
  end
  return redis.call('TYPE', 'session:' .. id).ok == 'list'
end
local after_ms = tonumber(ARGV[4])
-- Seconds as the listing's whole ms (rounded half up, as the server does);
-- nil for a score no clock gives (NaN, infinite, or past 30,000 years).
local function whole_ms(seconds)
  local s = tonumber(seconds)
  if not s or s ~= s or s <= -1e12 or s >= 1e12 then return nil end
  return math.floor(s * 1000 + 0.5)
end
local function after_cursor(id, ms)
  return not after_ms or ms > after_ms
         or (ms == after_ms and not byte_order_le(id, ARGV[5]))
end
if redis.call('TYPE', KEYS[2]).ok == 'zset' then
  -- From a ms before the cursor: a score that rounds to its ms comes too.
  local min, from = '-inf', 0
  if after_ms then min = (after_ms - 1) / 1000 end
  local step = want > 0 and want or 1000
  local last_ms, done = nil, false
  repeat
    local listed = redis.call('ZRANGEBYSCORE', KEYS[2], min, '+inf',
                              'WITHSCORES', 'LIMIT', from, step)
    for i = 1, #listed, 2 do
      local id, ms = listed[i], whole_ms(listed[i + 1])
      -- A full page still takes the rest of its last ms: the listing
      -- orders the sessions of one ms by id, the index by the fraction.
      if want > 0 and #theirs >= 2 * want and ms ~= last_ms then
        done = true
        break
      end
      if ms and after_cursor(id, ms) and accepted(id) and counts(id) then
        theirs[#theirs + 1] = id
        theirs[#theirs + 1] = listed[i + 1]
        last_ms = ms
      end
    end
    from = from + step
  until done or #listed < 2 * step
end
return {ours, theirs}
)lua"};

/// `after`'s score as ZRANGEBYSCORE reads it: "" from the first.
std::string score_after(const list_position& after) {
  return after.id.empty() ? std::string{} : std::to_string(after.time_ms);
}

/// The original listing script's call: `want` of each index (0: all)
/// after `after`.
redis_command original_listing(const std::optional<std::string>& ns,
                               std::size_t want,
                               const list_position& after = {}) {
  // A session's meta key is the start, its id, the end.
  static const std::string marker = "\x01";
  static const std::string sample = meta_key(marker);
  static const auto split = sample.find(marker);
  return original_listing_script.call(
    {index_key(ns), original_index_key(ns)},
    {std::to_string(want), sample.substr(0, split),
     sample.substr(split + marker.size()), score_after(after), after.id});
}

/// The first `want` sessions of one index after `after`, with scores.
redis_command index_after(const std::string& key, std::size_t want,
                          const list_position& after) {
  if (after.id.empty())
    return {"ZRANGE", key, "0", std::to_string(want - 1), "WITHSCORES"};
  return page_after_script.call(
    {key}, {score_after(after), after.id, std::to_string(want)});
}

/// Sessions by (time in whole ms, id): the listing's order, and its
/// cursors'.
using scored_ids = std::vector<std::pair<int64_t, std::string>>;

/// Adds the (id, score) pairs of a ZRANGE WITHSCORES reply, the scores
/// times `scale`, rounded half up to whole ms as the original listing
/// script rounds them; a score no clock gives is left out.
void add_scored(const redis_reply& set, double scale, scored_ids& out) {
  const auto& elements = set.elements;
  for (std::size_t i = 0; i + 1 < elements.size(); i += 2) {
    auto ms = scale * std::strtod(elements[i + 1].text.c_str(), nullptr);
    if (std::isfinite(ms) && std::abs(ms) < 1e15)
      out.emplace_back(static_cast<int64_t>(std::floor(ms + 0.5)),
                       elements[i].text);
  }
}

/// Both indexes as the original listing script answered them.
outcome<scored_ids> decode_original_listing(const redis_reply& reply) {
  if (reply.is_error())
    return outcome<scored_ids>::failure(reply.text);
  if (reply.elements.size() != 2)
    return outcome<scored_ids>::failure("unexpected listing reply");
  scored_ids listed;
  add_scored(reply.elements[0], 1.0, listed);
  add_scored(reply.elements[1], 1000.0, listed);
  return {std::move(listed), {}};
}

/// The sessions of `listed` (sorted) from `first`, at most `count`, and
/// where a listing goes on when there may be more.
session_listing page_of(scored_ids listed, std::size_t first,
                        std::size_t count) {
  std::sort(listed.begin(), listed.end());
  session_listing page;
  for (auto i = first; i < listed.size() && i < first + count; ++i)
    page.ids.push_back(listed[i].second);
  if (page.ids.size() == count && count > 0) {
    const auto& last = listed[first + count - 1];
    page.next = {last.first, last.second};
  }
  return page;
}

} // namespace

command_list list_commands(const session_page& page, const key_layout& layout,
                           bool original_layout) {
  // A page reads each index from its first session to the page's end; a
  // cursor, the page's size after the cursor.
  auto first = page.by_cursor
                 ? 0
                 : static_cast<uint64_t>(page.page - 1) * page.size;
  auto want = first + page.size;
  const auto& after = page.after;
  if (lists_original(layout, original_layout))
    return {original_listing(page.ns, want, after)};
  if (page.ns || layout.index_shards == 1)
    return {index_after(index_key(page.ns), want, after)};
  // Each shard's first sessions up to the page's end, merged.
  command_list commands;
  for (unsigned shard = 0; shard < layout.index_shards; ++shard)
    commands.push_back(index_after(shard_key(session_list_name, shard, layout),
                                   want, after));
  return commands;
}

outcome<session_listing>
decode_list(const std::vector<redis_reply>& replies, const session_page& page,
            const key_layout& layout, bool original_layout) {
  using result = outcome<session_listing>;
  auto first = page.by_cursor
                 ? 0
                 : static_cast<std::size_t>(page.page - 1) * page.size;
  scored_ids listed;
  if (lists_original(layout, original_layout)) {
    auto both = decode_original_listing(replies.at(0));
    if (!both)
      return result::failure(both.error);
    listed = std::move(*both.value);
  } else if (auto err = first_error(replies); !err.empty()) {
    return result::failure(err);
  } else {
    // Merged in the order of a single index (score, then id).
    for (const auto& reply : replies)
      add_scored(reply, 1.0, listed);
  }
  return {page_of(std::move(listed), first, page.size), {}};
}

outcome<std::vector<std::string>>
decode_session_ids(const std::vector<redis_reply>& replies, std::size_t limit) {
  using result = outcome<std::vector<std::string>>;
  if (auto err = first_error(replies); !err.empty())
    return result::failure(err);
  std::vector<std::string> ids;
  for (const auto& reply : replies)
    for (const auto& element : reply.elements)
      if (ids.size() < limit)
        ids.push_back(element.text);
  return {std::move(ids), {}};
}

command_list namespace_sessions_commands(const std::string& ns,
                                         const key_layout& layout,
                                         bool original_layout) {
  if (lists_original(layout, original_layout))
    return {original_listing(ns, 0)};
  return {{"ZRANGE", index_key(ns), "0", "-1", "WITHSCORES"}};
}

outcome<std::vector<std::string>>
decode_namespace_sessions(const std::vector<redis_reply>& replies,
                          const key_layout& layout, bool original_layout) {
  using result = outcome<std::vector<std::string>>;
  scored_ids listed;
  if (lists_original(layout, original_layout)) {
    auto both = decode_original_listing(replies.at(0));
    if (!both)
      return result::failure(both.error);
    listed = std::move(*both.value);
  } else if (auto err = first_error(replies); !err.empty()) {
    return result::failure(err);
  } else {
    add_scored(replies.at(0), 1.0, listed);
  }
  auto count = listed.size();
  return {page_of(std::move(listed), 0, count).ids, {}};
}

command_list untouched_sessions_commands(int64_t cutoff_ms, std::size_t limit,
                                         const key_layout& layout) {
  command_list commands;
  for (unsigned shard = 0; shard < layout.index_shards; ++shard)
    commands.push_back({"ZRANGEBYSCORE",
                        shard_key(session_list_name, shard, layout), "-inf",
                        std::to_string(cutoff_ms), "LIMIT", "0",
                        std::to_string(limit)});
  return commands;
}

} // namespace motorhead::store
