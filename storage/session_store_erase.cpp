// The Redis layout of erasing a session (a DELETE, a namespace's forget,
// the sweeper): the delete script, which leaves at most the claim, and its
// commands.
#include "storage/session_store.hpp"

#include <string>
#include <utility>
#include <vector>

#include "storage/lua_script.hpp"
#include "storage/session_store_internal.hpp"

namespace motorhead::store {

namespace {

// KEYS: messages, meta, archive, unembedded, vectors, ids, then, on a
// single Redis, the sessions index, the pending embeddings and the index of
// each namespace. ARGV: epoch, ttl, session id, leave_nothing (0/1),
// untouched_since (ms; 0: any). A session updated after untouched_since
// is left as it is (TOUCHED). Removes everything but the claim (epoch) and
// the summary generation, which moves on so that no fold computed before
// lands after; they expire like the claim of a session never written.
// With leave_nothing they go too: a later claim is higher anyway (see the
// claim script), which fences out every earlier owner and fold; and a
// session with nothing left, not even a claim, is deleted already. An
// index that is not a sorted set (the original Motorhead's names, which
// another program may use) is left alone.
const lua_script delete_script{R"lua(
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[2]) == 0 then
  -- Deleted already, claim and all (two deletes of one session racing):
  -- there is nothing left to fence or to remove.
  for i = 7, #KEYS do
    if redis.call('TYPE', KEYS[i]).ok == 'zset' then
      redis.call('ZREM', KEYS[i], ARGV[3])
    end
  end
  return 1
end
)lua" + fence + R"lua(
if ARGV[5] ~= '0' and
   tonumber(redis.call('HGET', KEYS[2], 'updated_at') or '0') > tonumber(ARGV[5]) then
  return redis.error_reply('TOUCHED the session was updated since')
end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
local generation = redis.call('HGET', KEYS[2], 'summary_gen') or 0
redis.call('DEL', KEYS[2])
if ARGV[4] ~= '1' then
  redis.call('HSET', KEYS[2], 'epoch', ARGV[1], 'summary_gen', generation + 1)
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
for i = 7, #KEYS do
  if redis.call('TYPE', KEYS[i]).ok == 'zset' then
    redis.call('ZREM', KEYS[i], ARGV[3])
  end
end
return 1
)lua"};

// KEYS: a key in the namespace's slot. Sets it and deletes it: nothing is
// left, and both writes go into the replication stream behind every
// deletion of the namespace's sessions, so that a WAIT after this script
// covers them, also when a retry of the deletion finds nothing to delete.
const lua_script forgotten_script{R"lua(
redis.call('SET', KEYS[1], '1')
redis.call('DEL', KEYS[1])
return 1
)lua"};

} // namespace

command_list forgotten_commands(const std::string& ns) {
  return {forgotten_script.call({"motorhead:namespace:{" + ns + "}:forgotten"},
                                {})};
}

write_plan delete_commands(const std::string& session_id,
                           const erase_request& request, uint64_t epoch,
                           const key_layout& layout, bool original_layout) {
  redis_command keys{messages_key(session_id), meta_key(session_id),
                     archive_key(session_id), unembedded_key(session_id),
                     vectors_key(session_id), ids_key(session_id)};
  std::vector<std::string> indexes{session_index_key(session_id, layout),
                                   pending_embeddings_key(session_id, layout)};
  for (const auto& ns : request.namespaces)
    indexes.push_back(index_key(ns));
  write_plan plan;
  if (layout.indexes_in_scripts) {
    keys.insert(keys.end(), indexes.begin(), indexes.end());
    // The load before moved the session out of the original's keys, but
    // not out of its namespaces' indexes, which do not say which session
    // is in which.
    if (original_layout)
      for (const auto& ns : request.namespaces)
        keys.push_back(original_index_key(ns));
  }
  else {
    for (auto& index : indexes)
      plan.index_updates.push_back({"ZREM", std::move(index), session_id});
  }
  plan.indexes_required = true;
  plan.commands.push_back(delete_script.call(
    std::move(keys),
    {std::to_string(epoch), unwritten_epoch_ttl, session_id,
     request.leave_nothing ? "1" : "0",
     std::to_string(request.untouched_since)}));
  return plan;
}

} // namespace motorhead::store
