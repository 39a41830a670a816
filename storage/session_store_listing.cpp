// The Redis layout of reading sessions without a claim: a session's info,
// and the pages and lists of sessions the indexes give.
#include "storage/session_store.hpp"

#include <cstdlib>

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/json_codec.hpp"
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

/// Whether a page merges several sorted sets: the shards of a split
/// index, or this layout's index and the original's.
bool merges(const session_page& page, const key_layout& layout, bool original) {
  return original || (!page.ns && layout.index_shards > 1);
}

/// The original Motorhead's index: scored in seconds, not milliseconds.
std::string original_index_key(const std::optional<std::string>& ns) {
  return ns ? "sessions:" + *ns : std::string{"sessions"};
}

/// Whether a listing reads the original's index too: it ran on a single
/// Redis only.
bool lists_original(const key_layout& layout, bool original_layout) {
  return original_layout && layout.indexes_in_scripts;
}

} // namespace

command_list list_commands(const session_page& page, const key_layout& layout,
                           bool original_layout) {
  auto first = static_cast<uint64_t>(page.page - 1) * page.size;
  auto last = first + page.size - 1;
  bool original = lists_original(layout, original_layout);
  if (!merges(page, layout, original))
    return {{"ZRANGE", index_key(page.ns), std::to_string(first),
             std::to_string(last)}};
  command_list commands;
  auto up_to_last = [&](std::string key) {
    commands.push_back({"ZRANGE", std::move(key), "0", std::to_string(last),
                        "WITHSCORES"});
  };
  if (page.ns || layout.index_shards == 1)
    up_to_last(index_key(page.ns));
  else
    for (unsigned shard = 0; shard < layout.index_shards; ++shard)
      up_to_last(shard_key(session_list_name, shard, layout));
  if (original)
    up_to_last(original_index_key(page.ns));
  return commands;
}

outcome<std::vector<std::string>>
decode_list(const std::vector<redis_reply>& replies, const session_page& page,
            const key_layout& layout, bool original_layout) {
  using result = outcome<std::vector<std::string>>;
  if (auto err = first_error(replies); !err.empty())
    return result::failure(err);
  std::vector<std::string> ids;
  bool original = lists_original(layout, original_layout);
  if (!merges(page, layout, original)) {
    for (const auto& element : replies.at(0).elements)
      ids.push_back(element.text);
    return {std::move(ids), {}};
  }
  // Every set gave its sessions up to the page's end, with their scores:
  // merged in the order of a single index (score, then id). A session in
  // both layouts (moved, then listed again by the original) counts once,
  // at its latest activity.
  std::map<std::string, double> latest;
  for (std::size_t r = 0; r < replies.size(); ++r) {
    double scale = original && r + 1 == replies.size() ? 1000.0 : 1.0;
    const auto& elements = replies[r].elements;
    for (std::size_t i = 0; i + 1 < elements.size(); i += 2) {
      auto score = scale * std::strtod(elements[i + 1].text.c_str(), nullptr);
      auto [entry, added] = latest.emplace(elements[i].text, score);
      if (!added)
        entry->second = std::max(entry->second, score);
    }
  }
  std::vector<std::pair<double, std::string>> listed;
  for (auto& [id, score] : latest)
    listed.emplace_back(score, id);
  std::sort(listed.begin(), listed.end());
  auto first = static_cast<std::size_t>(page.page - 1) * page.size;
  for (auto i = first; i < listed.size() && i < first + page.size; ++i)
    ids.push_back(std::move(listed[i].second));
  return {std::move(ids), {}};
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
  command_list commands{{"ZRANGE", index_key(ns), "0", "-1"}};
  if (lists_original(layout, original_layout))
    commands.push_back({"ZRANGE", original_index_key(ns), "0", "-1"});
  return commands;
}

outcome<std::vector<std::string>>
decode_namespace_sessions(const std::vector<redis_reply>& replies) {
  auto ids = decode_session_ids(replies, std::numeric_limits<std::size_t>::max());
  if (ids) {
    auto& list = *ids.value;
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  }
  return ids;
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
