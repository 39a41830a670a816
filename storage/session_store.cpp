#include "storage/session_store.hpp"

#include <charconv>

#include <algorithm>

#include "core/json_codec.hpp"
#include "core/retrieval_index.hpp"

namespace motorhead::store {

namespace {

// Every write script starts with the fence: the session's epoch in Redis
// must be the one the writing actor claimed when it loaded the session.
// A newer owner has claimed a higher one; the stale owner's write fails.
const std::string fenced_prefix = "FENCED";
const std::string fence = R"lua(
if redis.call('HGET', KEYS[2], 'epoch') ~= ARGV[1] then
  return redis.error_reply('FENCED the session has a newer owner')
end
)lua";

// KEYS: messages, meta. ARGV: ttl. Claims the session: its epoch goes up by
// one and is returned. A session with no data keeps only its epoch, which
// expires after `ttl` seconds unless a write makes the session real.
const std::string claim_script = R"lua(
local epoch = redis.call('HINCRBY', KEYS[2], 'epoch', 1)
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('HLEN', KEYS[2]) == 1 then
  redis.call('EXPIRE', KEYS[2], ARGV[1])
end
return epoch
)lua";

// KEYS: messages, meta, archive, unembedded. ARGV: epoch, next_seq,
// has_context, context, namespaces (JSON), archive (0/1), embed (0/1),
// message records... The archive and the marks of messages waiting for an
// embedding are written with the messages, so none is ever lost.
const std::string append_script = fence + R"lua(
redis.call('PERSIST', KEYS[2])
for i = 8, #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
  if ARGV[6] == '1' or ARGV[7] == '1' then
    local seq = cjson.decode(ARGV[i]).seq
    if ARGV[6] == '1' then redis.call('HSET', KEYS[3], seq, ARGV[i]) end
    if ARGV[7] == '1' then redis.call('SADD', KEYS[4], seq) end
  end
end
redis.call('HSET', KEYS[2], 'next_seq', ARGV[2], 'namespaces', ARGV[5])
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[2], 'context', ARGV[4])
end
return 1
)lua";

// KEYS: messages, meta, archive, unembedded, vectors. ARGV: epoch, ttl.
// Removes everything but the epoch, which expires like that of a session
// never written.
const std::string delete_script = fence + R"lua(
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4], KEYS[5])
redis.call('HDEL', KEYS[2], 'context', 'tokens', 'next_seq', 'namespaces')
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
)lua";

// KEYS: messages, meta. ARGV: epoch, covered_through, summary, tokens_used.
// Pops exactly the messages the summary covers, whatever came after them.
const std::string fold_script = fence + R"lua(
local covered = tonumber(ARGV[2])
local removed = 0
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head then break end
  local seq = tonumber(cjson.decode(head).seq)
  if seq == nil or seq > covered then break end
  redis.call('LPOP', KEYS[1])
  removed = removed + 1
end
redis.call('HSET', KEYS[2], 'context', ARGV[3])
redis.call('HINCRBY', KEYS[2], 'tokens', ARGV[4])
return removed
)lua";

// KEYS: messages, meta, unembedded, vectors. ARGV: epoch, model, dimension,
// then seq and packed vector pairs.
const std::string vectors_script = fence + R"lua(
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
  redis.call('SREM', KEYS[3], ARGV[i])
end
redis.call('HSET', KEYS[2], 'embedding_model', ARGV[2], 'embedding_dim', ARGV[3])
return redis.call('SCARD', KEYS[3])
)lua";

const std::string pending_embeddings_key = "motorhead:embedding:pending";

/// How long the epoch of a session that was read but never written lives.
const std::string unwritten_epoch_ttl = "86400";

const std::string session_prefix = "motorhead:session:{";

bool parse_u64(const std::string& text, uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

/// Applies one field of the meta hash to the snapshot; returns an error or "".
std::string apply_meta_field(const std::string& field, const std::string& value,
                             session_snapshot& snapshot) {
  if (field == "context") {
    snapshot.context = value;
  } else if (field == "tokens") {
    if (!parse_u64(value, snapshot.tokens))
      return "corrupt tokens field";
  } else if (field == "next_seq") {
    if (!parse_u64(value, snapshot.next_seq))
      return "corrupt next_seq field";
  } else if (field == "epoch") {
    if (!parse_u64(value, snapshot.epoch))
      return "corrupt epoch field";
  } else if (field == "namespaces") {
    auto list = json::decode_string_list(value);
    if (!list)
      return "corrupt namespaces field: " + list.error;
    snapshot.namespaces = std::move(*list.value);
  }
  return {};
}

} // namespace

std::string messages_key(const std::string& session_id) {
  return session_prefix + session_id + "}:messages";
}

std::string meta_key(const std::string& session_id) {
  return session_prefix + session_id + "}:meta";
}

std::string archive_key(const std::string& session_id) {
  return session_prefix + session_id + "}:archive";
}

std::string unembedded_key(const std::string& session_id) {
  return session_prefix + session_id + "}:unembedded";
}

std::string vectors_key(const std::string& session_id) {
  return session_prefix + session_id + "}:vectors";
}

std::string index_key(const std::optional<std::string>& ns) {
  if (!ns)
    return "motorhead:sessions";
  return "motorhead:namespace:{" + *ns + "}:sessions";
}

command_list load_commands(const std::string& session_id) {
  return {{"EVAL", claim_script, "2", messages_key(session_id),
           meta_key(session_id), unwritten_epoch_ttl},
          {"LRANGE", messages_key(session_id), "0", "-1"},
          {"HGETALL", meta_key(session_id)},
          {"SCARD", unembedded_key(session_id)}};
}

outcome<session_snapshot> decode_load(const std::vector<redis_reply>& replies) {
  using result = outcome<session_snapshot>;
  if (auto err = first_error(replies); !err.empty())
    return result::failure(err);
  session_snapshot snapshot;
  for (const auto& element : replies.at(1).elements) {
    auto msg = json::decode_stored_message(element.text);
    if (!msg)
      return result::failure("corrupt stored message: " + msg.error);
    snapshot.messages.push_back(std::move(*msg.value));
  }
  const auto& meta = replies.at(2).elements;
  for (size_t i = 0; i + 1 < meta.size(); i += 2)
    if (auto err = apply_meta_field(meta[i].text, meta[i + 1].text, snapshot);
        !err.empty())
      return result::failure(err);
  if (!snapshot.messages.empty())
    snapshot.next_seq = std::max(snapshot.next_seq,
                                 snapshot.messages.back().seq + 1);
  snapshot.unembedded = static_cast<uint64_t>(replies.at(3).integer);
  return {std::move(snapshot), {}};
}

command_list append_commands(const std::string& session_id,
                             const append_change& change, int64_t now_ms) {
  redis_command eval{"EVAL",
                     append_script,
                     "4",
                     messages_key(session_id),
                     meta_key(session_id),
                     archive_key(session_id),
                     unembedded_key(session_id),
                     std::to_string(change.epoch),
                     std::to_string(change.next_seq),
                     change.context ? "1" : "0",
                     change.context.value_or(""),
                     json::encode_string_list(change.namespaces),
                     change.archive ? "1" : "0",
                     change.embed ? "1" : "0"};
  for (const auto& msg : change.messages)
    eval.push_back(json::encode_stored_message(msg));
  command_list commands{std::move(eval)};
  auto score = std::to_string(now_ms);
  commands.push_back({"ZADD", index_key(std::nullopt), score, session_id});
  for (const auto& ns : change.namespaces)
    commands.push_back({"ZADD", index_key(ns), score, session_id});
  if (change.embed && !change.messages.empty())
    commands.push_back({"ZADD", pending_embeddings_key, score, session_id});
  return commands;
}

command_list fold_commands(const std::string& session_id,
                           const fold_change& change) {
  return {{"EVAL", fold_script, "2", messages_key(session_id),
           meta_key(session_id), std::to_string(change.epoch),
           std::to_string(change.covered_through),
           change.summary, std::to_string(change.tokens_used)}};
}

command_list delete_commands(const std::string& session_id,
                             const std::vector<std::string>& namespaces,
                             uint64_t epoch) {
  command_list commands{
    {"EVAL", delete_script, "5", messages_key(session_id), meta_key(session_id),
     archive_key(session_id), unembedded_key(session_id),
     vectors_key(session_id), std::to_string(epoch), unwritten_epoch_ttl},
    {"ZREM", index_key(std::nullopt), session_id},
    {"ZREM", pending_embeddings_key, session_id}};
  for (const auto& ns : namespaces)
    commands.push_back({"ZREM", index_key(ns), session_id});
  return commands;
}

command_list list_commands(const session_page& page) {
  auto first = static_cast<uint64_t>(page.page - 1) * page.size;
  auto last = first + page.size - 1;
  return {{"ZRANGE", index_key(page.ns), std::to_string(first),
           std::to_string(last)}};
}

outcome<std::vector<std::string>>
decode_list(const std::vector<redis_reply>& replies) {
  using result = outcome<std::vector<std::string>>;
  if (auto err = first_error(replies); !err.empty())
    return result::failure(err);
  std::vector<std::string> ids;
  for (const auto& element : replies.at(0).elements)
    ids.push_back(element.text);
  return {std::move(ids), {}};
}

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

command_list vectors_commands(const std::string& session_id,
                              const vector_batch& batch, bool all_embedded) {
  auto dimension = batch.vectors.empty() ? 0 : batch.vectors[0].values.size();
  redis_command eval{"EVAL", vectors_script, "4", messages_key(session_id),
                     meta_key(session_id), unembedded_key(session_id),
                     vectors_key(session_id), std::to_string(batch.epoch),
                     batch.model, std::to_string(dimension)};
  for (const auto& v : batch.vectors) {
    eval.push_back(std::to_string(v.seq));
    eval.push_back(pack_vector(v.values));
  }
  command_list commands{std::move(eval)};
  if (all_embedded)
    commands.push_back({"ZREM", pending_embeddings_key, session_id});
  return commands;
}

command_list pending_embedding_commands(std::size_t limit) {
  return {{"ZRANGE", pending_embeddings_key, "0", std::to_string(limit - 1)}};
}

command_list ping_commands() {
  return {{"PING"}};
}

std::string first_error(const std::vector<redis_reply>& replies) {
  for (const auto& reply : replies)
    if (reply.is_error())
      return "Redis refused a command: " + reply.text;
  return {};
}

bool is_fenced(const std::vector<redis_reply>& replies) {
  return !replies.empty() && replies.front().is_error()
         && replies.front().text.rfind(fenced_prefix, 0) == 0;
}

} // namespace motorhead::store
