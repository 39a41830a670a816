// The Redis layout of a session's long-term memory: its archive and
// vectors, the vectors script, and the list of sessions with messages
// waiting for an embedding.
#include "storage/session_store.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/json_codec.hpp"
#include "core/retrieval_index.hpp"
#include "storage/lua_script.hpp"
#include "storage/session_store_internal.hpp"

namespace motorhead::store {

namespace {

// KEYS: messages, meta, unembedded, vectors, archive, then, on a single
// Redis, the pending embeddings. ARGV: epoch, model, dimension, all_embedded (0/1), session id, then seq
// and packed vector pairs. A vector is kept only for a message still in the
// archive: none comes back after a DELETE. The session leaves the pending
// list only when it says no message waits for an embedding any more.
const lua_script vectors_script{fence + R"lua(
local stored = 0
for i = 6, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[5], ARGV[i]) == 1 then
    redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
    stored = stored + 1
  end
  redis.call('SREM', KEYS[3], ARGV[i])
end
if stored > 0 then
  redis.call('HSET', KEYS[2], 'embedding_model', ARGV[2], 'embedding_dim', ARGV[3])
end
if #KEYS >= 6 and ARGV[4] == '1' then
  redis.call('ZREM', KEYS[6], ARGV[5])
end
return redis.call('SCARD', KEYS[3])
)lua"};

} // namespace

command_list archive_commands(const std::string& session_id) {
  return {{"HGETALL", archive_key(session_id)},
          {"HGETALL", vectors_key(session_id)},
          {"HGET", meta_key(session_id), "embedding_model"}};
}

outcome<session_archive> decode_archive(const std::vector<redis_reply>& replies) {
  using result = outcome<session_archive>;
  if (auto err = first_error(replies); !err.empty())
    return result::failure(err);
  session_archive archive;
  const auto& messages = replies.at(0).elements;
  for (size_t i = 0; i + 1 < messages.size(); i += 2) {
    auto msg = json::decode_stored_message(messages[i + 1].text);
    if (!msg)
      return result::failure("corrupt archived message: " + msg.error);
    archive.messages.push_back(std::move(*msg.value));
  }
  std::sort(archive.messages.begin(), archive.messages.end(),
            [](const auto& a, const auto& b) { return a.seq < b.seq; });
  const auto& vectors = replies.at(1).elements;
  for (size_t i = 0; i + 1 < vectors.size(); i += 2) {
    uint64_t seq = 0;
    if (!parse_u64(vectors[i].text, seq) || vectors[i + 1].text.size() % 4 != 0)
      return result::failure("corrupt stored vector");
    archive.vectors.push_back({seq, unpack_vector(vectors[i + 1].text)});
  }
  archive.embedding_model = replies.at(2).text;
  return {std::move(archive), {}};
}

write_plan vectors_commands(const std::string& session_id,
                            const vector_batch& batch, bool all_embedded,
                            const key_layout& layout) {
  auto dimension = batch.vectors.empty() ? 0 : batch.vectors[0].values.size();
  redis_command args{std::to_string(batch.epoch), batch.model,
                     std::to_string(dimension), all_embedded ? "1" : "0",
                     session_id};
  for (const auto& v : batch.vectors) {
    args.push_back(std::to_string(v.seq));
    args.push_back(pack_vector(v.values));
  }
  redis_command keys{messages_key(session_id), meta_key(session_id),
                     unembedded_key(session_id), vectors_key(session_id),
                     archive_key(session_id)};
  auto pending = pending_embeddings_key(session_id, layout);
  write_plan plan;
  if (layout.indexes_in_scripts)
    keys.push_back(std::move(pending));
  else if (all_embedded)
    plan.index_updates.push_back({"ZREM", std::move(pending), session_id});
  plan.commands.push_back(vectors_script.call(std::move(keys), std::move(args)));
  return plan;
}

command_list pending_embedding_commands(std::size_t limit,
                                        const key_layout& layout) {
  command_list commands;
  for (unsigned shard = 0; shard < layout.index_shards; ++shard)
    commands.push_back({"ZRANGE", shard_key(pending_list_name, shard, layout),
                        "0", std::to_string(limit - 1)});
  return commands;
}

} // namespace motorhead::store
