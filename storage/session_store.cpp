// The keys of a session and of the indexes, and what every family of the
// session store shares: reading a number, the first error of the replies
// and the refusals of the scripts. The families are session_store_*.cpp.
#include "storage/session_store.hpp"

#include <charconv>

#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "storage/cluster_slots.hpp"
#include "storage/session_store_internal.hpp"

namespace motorhead::store {

namespace {

/// How many keys each index is split into on a Redis Cluster: enough that
/// the writes of every POST spread over the masters.
constexpr unsigned cluster_index_shards = 16;

unsigned shard_of(const std::string& session_id, const key_layout& layout) {
  if (layout.index_shards == 1)
    return 0;
  return cluster_slots::key_slot(session_id) % layout.index_shards;
}

const std::string session_prefix = "motorhead:session:{";

} // namespace

std::string shard_key(std::string_view name, unsigned shard,
                      const key_layout& layout) {
  if (layout.index_shards == 1)
    return std::string{name};
  return std::string{name} + ":{" + std::to_string(shard) + "}";
}

bool parse_u64(const std::string& text, uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

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

std::string ids_key(const std::string& session_id) {
  return session_prefix + session_id + "}:ids";
}

std::string index_key(const std::optional<std::string>& ns) {
  if (!ns)
    return std::string{session_list_name};
  return "motorhead:namespace:{" + *ns + "}:sessions";
}

key_layout key_layout::of(redis_topology topology) {
  if (topology == redis_topology::cluster)
    return {cluster_index_shards, false};
  return {};
}

std::string session_index_key(const std::string& session_id,
                              const key_layout& layout) {
  return shard_key(session_list_name, shard_of(session_id, layout), layout);
}

std::string pending_embeddings_key(const std::string& session_id,
                                   const key_layout& layout) {
  return shard_key(pending_list_name, shard_of(session_id, layout), layout);
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

namespace {

// The first word of each refusal of the scripts.
const std::string fenced_prefix = "FENCED";
const std::string stale_prefix = "STALE";
const std::string conflict_prefix = "CONFLICT";
const std::string touched_prefix = "TOUCHED";
// The append script's answer to a retry: a status, not a refusal.
const std::string stored_status = "STORED";

bool first_reply_starts_with(const std::vector<redis_reply>& replies,
                             const std::string& prefix) {
  return !replies.empty() && replies.front().is_error(prefix);
}

} // namespace

bool is_fenced(const std::vector<redis_reply>& replies) {
  return first_reply_starts_with(replies, fenced_prefix);
}

bool is_stale(const std::vector<redis_reply>& replies) {
  return first_reply_starts_with(replies, stale_prefix);
}

bool is_already_stored(const std::vector<redis_reply>& replies) {
  return !replies.empty() && replies.front().type == redis_reply::kind::status
         && replies.front().text == stored_status;
}

bool is_id_conflict(const std::vector<redis_reply>& replies) {
  return first_reply_starts_with(replies, conflict_prefix);
}

bool is_touched(const std::vector<redis_reply>& replies) {
  return first_reply_starts_with(replies, touched_prefix);
}

} // namespace motorhead::store
