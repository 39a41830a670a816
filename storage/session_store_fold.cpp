// The Redis layout of a fold: the script that swaps the messages a summary
// covers for the summary, and its command builder.
#include "storage/session_store.hpp"

#include <string>
#include <utility>

#include "storage/lua_script.hpp"
#include "storage/session_store_internal.hpp"

namespace motorhead::store {

namespace {

// KEYS: messages, meta. ARGV: epoch, summary generation, summary,
// tokens_used, then the seqs the summary covers, oldest first. Removes
// exactly those messages, which must head the list, and only if the summary
// it extends is still the session's: otherwise nothing changes and the
// answer is STALE. An empty summary leaves the context as it was. A record
// the server wrote starts with its seq, read without decoding the JSON
// (a third of the script's time); one written otherwise is decoded.
const lua_script fold_script{fence + R"lua(
if (redis.call('HGET', KEYS[2], 'summary_gen') or '0') ~= ARGV[2] then
  return redis.error_reply('STALE the summary was replaced')
end
local count = #ARGV - 4
local head = redis.call('LRANGE', KEYS[1], 0, count - 1)
if #head ~= count then
  return redis.error_reply('STALE the messages to fold are gone')
end
for i = 1, count do
  local seq = string.match(head[i], '^{"seq":(%d+),')
    or tostring(cjson.decode(head[i]).seq)
  if seq ~= ARGV[i + 4] then
    return redis.error_reply('STALE the messages to fold are not the oldest')
  end
end
redis.call('LTRIM', KEYS[1], count, -1)
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], 'context', ARGV[3])
end
redis.call('HINCRBY', KEYS[2], 'tokens', ARGV[4])
return count
)lua"};

} // namespace

command_list fold_commands(const std::string& session_id,
                           const fold_change& change) {
  redis_command args{std::to_string(change.epoch),
                     std::to_string(change.summary_generation), change.summary,
                     std::to_string(change.tokens_used)};
  for (auto seq : change.seqs)
    args.push_back(std::to_string(seq));
  return {fold_script.call({messages_key(session_id), meta_key(session_id)},
                           std::move(args))};
}

} // namespace motorhead::store
