#include "storage/session_store.hpp"

#include <charconv>

#include "core/json_codec.hpp"

namespace motorhead::store {

namespace {

// KEYS: messages, meta. ARGV: next_seq, has_context, context, namespaces
// (JSON, "" when unchanged), message records...
const char* append_script = R"lua(
for i = 5, #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
end
redis.call('HSET', KEYS[2], 'next_seq', ARGV[1])
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[2], 'context', ARGV[3])
end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[2], 'namespaces', ARGV[4])
end
return 1
)lua";

// KEYS: messages, meta. ARGV: covered_through, summary, tokens_used.
// Pops exactly the messages the summary covers, whatever came after them.
const char* fold_script = R"lua(
local covered = tonumber(ARGV[1])
local removed = 0
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head then break end
  local seq = tonumber(cjson.decode(head).seq)
  if seq == nil or seq > covered then break end
  redis.call('LPOP', KEYS[1])
  removed = removed + 1
end
redis.call('HSET', KEYS[2], 'context', ARGV[2])
redis.call('HINCRBY', KEYS[2], 'tokens', ARGV[3])
return removed
)lua";

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

std::string index_key(const std::optional<std::string>& ns) {
  if (!ns)
    return "motorhead:sessions";
  return "motorhead:namespace:{" + *ns + "}:sessions";
}

command_list load_commands(const std::string& session_id) {
  return {{"LRANGE", messages_key(session_id), "0", "-1"},
          {"HGETALL", meta_key(session_id)}};
}

outcome<session_snapshot> decode_load(const std::vector<redis_reply>& replies) {
  using result = outcome<session_snapshot>;
  if (auto err = first_error(replies); !err.empty())
    return result::failure(err);
  session_snapshot snapshot;
  for (const auto& element : replies.at(0).elements) {
    auto msg = json::decode_stored_message(element.text);
    if (!msg)
      return result::failure("corrupt stored message: " + msg.error);
    snapshot.messages.push_back(std::move(*msg.value));
  }
  const auto& meta = replies.at(1).elements;
  for (size_t i = 0; i + 1 < meta.size(); i += 2)
    if (auto err = apply_meta_field(meta[i].text, meta[i + 1].text, snapshot);
        !err.empty())
      return result::failure(err);
  if (!snapshot.messages.empty())
    snapshot.next_seq = std::max(snapshot.next_seq,
                                 snapshot.messages.back().seq + 1);
  return {std::move(snapshot), {}};
}

command_list append_commands(const std::string& session_id,
                             const append_change& change, int64_t now_ms) {
  redis_command eval{"EVAL",
                     append_script,
                     "2",
                     messages_key(session_id),
                     meta_key(session_id),
                     std::to_string(change.next_seq),
                     change.context ? "1" : "0",
                     change.context.value_or(""),
                     json::encode_string_list(change.namespaces)};
  for (const auto& msg : change.messages)
    eval.push_back(json::encode_stored_message(msg));
  command_list commands{std::move(eval)};
  auto score = std::to_string(now_ms);
  commands.push_back({"ZADD", index_key(std::nullopt), score, session_id});
  for (const auto& ns : change.namespaces)
    commands.push_back({"ZADD", index_key(ns), score, session_id});
  return commands;
}

command_list fold_commands(const std::string& session_id,
                           const fold_change& change) {
  return {{"EVAL", fold_script, "2", messages_key(session_id),
           meta_key(session_id), std::to_string(change.covered_through),
           change.summary, std::to_string(change.tokens_used)}};
}

command_list delete_commands(const std::string& session_id,
                             const std::vector<std::string>& namespaces) {
  command_list commands{
    {"DEL", messages_key(session_id), meta_key(session_id)},
    {"ZREM", index_key(std::nullopt), session_id}};
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

command_list ping_commands() {
  return {{"PING"}};
}

std::string first_error(const std::vector<redis_reply>& replies) {
  for (const auto& reply : replies)
    if (reply.is_error())
      return "Redis refused a command: " + reply.text;
  return {};
}

} // namespace motorhead::store
