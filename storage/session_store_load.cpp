// The Redis layout of loading a session: the claim script, which fences
// out every earlier owner, and the decoding of what the load reads.
#include "storage/session_store.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/json_codec.hpp"
#include "storage/lua_script.hpp"
#include "storage/session_store_internal.hpp"

namespace motorhead::store {

namespace {

// KEYS: messages, meta. ARGV: ttl, always (0/1). Claims the session: its
// epoch goes up by one, to no less than the server's time in microseconds,
// and is returned. The time makes a claim after a deletion that left
// nothing (no epoch to go up from) higher than any claim before it. A
// session never written (no next_seq) is claimed only `always` (its first
// write is coming): else the answer is 0 and nothing is written, so that
// reads of ids that exist nowhere store nothing. A claim of a session
// never written expires after `ttl` seconds unless a write makes it real;
// the claim of one that holds something makes it permanent.
const std::string claim_lua = R"lua(
local absent = redis.call('EXISTS', KEYS[1]) == 0
  and redis.call('HEXISTS', KEYS[2], 'next_seq') == 0
if absent and ARGV[2] ~= '1' then
  return 0
end
local epoch = redis.call('HINCRBY', KEYS[2], 'epoch', 1)
local now = redis.call('TIME')
local floor = now[1] .. string.format('%06d', tonumber(now[2]))
if epoch < tonumber(floor) then
  redis.call('HSET', KEYS[2], 'epoch', floor)
  epoch = tonumber(floor)
end
if absent then
  redis.call('EXPIRE', KEYS[2], ARGV[1])
else
  -- A session that holds something is kept: a record an earlier version
  -- left to expire (a move of the original's session over a deleted one)
  -- is kept from its next load on.
  redis.call('PERSIST', KEYS[2])
end
return epoch
)lua";

const lua_script claim_script{claim_lua};

// Before the claim, a session found only in the original Motorhead's keys
// moves into this layout, in the same script (see original_move_lua).
const lua_script claim_original_script{original_move_lua() + claim_lua};

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
  } else if (field == "summary_gen") {
    if (!parse_u64(value, snapshot.summary_generation))
      return "corrupt summary_gen field";
  } else if (field == "namespaces") {
    auto list = json::decode_string_list(value);
    if (!list)
      return "corrupt namespaces field: " + list.error;
    snapshot.namespaces = std::move(*list.value);
  } else if (field == "metadata") {
    snapshot.has_metadata = true;
  }
  return {};
}

} // namespace

command_list load_commands(const std::string& session_id, bool claim_always,
                           const std::optional<original_import>& original,
                           const key_layout& layout) {
  auto always = claim_always ? "1" : "0";
  auto claim = original && layout.indexes_in_scripts
                 ? original_move_call(claim_original_script, session_id,
                                      always, *original, layout)
                 : claim_script.call({messages_key(session_id),
                                      meta_key(session_id)},
                                     {unwritten_epoch_ttl, always});
  return {std::move(claim),
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
  // The claim's, not the meta's: a session loaded without a claim holds
  // none (0), whatever claim another node left.
  snapshot.epoch = static_cast<uint64_t>(replies.at(0).integer);
  return {std::move(snapshot), {}};
}

} // namespace motorhead::store
