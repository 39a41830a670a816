#include "storage/membership_table.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "storage/lua_script.hpp"

namespace motorhead::store {

namespace {

const std::string version_key = "motorhead:{members}:version";
const std::string rows_key = "motorhead:{members}:rows";
const std::string alive_key = "motorhead:{members}:alive";

// KEYS: version, rows, alive. ARGV: the reader's id, or "". Records the
// reader's sign of life if its row is active, then answers the version,
// Redis' clock in ms, whether the reader is active, the rows and the signs
// of life.
const lua_script read_script{R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local active = 0
if ARGV[1] ~= '' then
  local row = redis.call('HGET', KEYS[2], ARGV[1])
  if row and string.sub(row, 1, 7) == 'active ' then
    redis.call('HSET', KEYS[3], ARGV[1], now)
    active = 1
  end
end
local version = tonumber(redis.call('GET', KEYS[1]) or '0')
return {version, now, active, redis.call('HGETALL', KEYS[2]),
        redis.call('HGETALL', KEYS[3])}
)lua"};

// KEYS: version, rows, alive. ARGV: the expected version, forget_after_ms,
// then pairs of id and "status address incarnation". Answers {1, new
// version} once written, {0, version} when the table moved on.
const lua_script write_script{R"lua(
local version = tonumber(redis.call('GET', KEYS[1]) or '0')
if version ~= tonumber(ARGV[1]) then
  return {0, version}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1] .. ' ' .. now)
  if string.sub(ARGV[i + 1], 1, 7) == 'active ' then
    redis.call('HSET', KEYS[3], ARGV[i], now)
  else
    redis.call('HDEL', KEYS[3], ARGV[i])
  end
end
local rows = redis.call('HGETALL', KEYS[2])
for i = 1, #rows, 2 do
  local status, changed = string.match(rows[i + 1], '^(%a+) .* (%d+)$')
  if status ~= 'active'
     and now - tonumber(changed or '0') > tonumber(ARGV[2]) then
    redis.call('HDEL', KEYS[2], rows[i])
  end
end
redis.call('SET', KEYS[1], version + 1)
return {1, version + 1}
)lua"};

std::optional<member_status> status_named(const std::string& name) {
  for (auto status : {member_status::active, member_status::left,
                      member_status::dead})
    if (name == to_string(status))
      return status;
  return std::nullopt;
}

/// "status address incarnation changed_ms", as the write script stores it.
std::optional<member_row> parse_row(const std::string& text) {
  std::istringstream in{text};
  std::string status;
  member_row row;
  if (!(in >> status >> row.address >> row.incarnation >> row.changed_ms))
    return std::nullopt;
  auto parsed = status_named(status);
  if (!parsed)
    return std::nullopt;
  row.status = *parsed;
  return row;
}

bool is_flat_pairs(const redis_reply& reply) {
  return reply.type == redis_reply::kind::array
         && reply.elements.size() % 2 == 0;
}

} // namespace

const char* to_string(member_status status) {
  switch (status) {
    case member_status::active: return "active";
    case member_status::left: return "left";
    case member_status::dead: return "dead";
  }
  return "dead";
}

std::string member_row::id() const {
  return address + "/" + std::to_string(incarnation);
}

const member_row* membership_table::find(const std::string& id) const {
  for (const auto& row : rows)
    if (row.id() == id)
      return &row;
  return nullptr;
}

std::vector<redis_command> membership_read_commands(const std::string& reader) {
  return {read_script.call({version_key, rows_key, alive_key}, {reader})};
}

outcome<membership_table>
decode_membership(const std::vector<redis_reply>& replies) {
  using failure = outcome<membership_table>;
  if (replies.size() != 1 || replies[0].type != redis_reply::kind::array
      || replies[0].elements.size() != 5)
    return failure::failure(
      "unexpected answer to the membership read"
      + (replies.empty() ? std::string{} : ": " + replies[0].text));
  const auto& parts = replies[0].elements;
  if (!is_flat_pairs(parts[3]) || !is_flat_pairs(parts[4]))
    return failure::failure("unexpected rows in the membership table");
  membership_table table;
  table.version = static_cast<uint64_t>(parts[0].integer);
  table.now_ms = parts[1].integer;
  table.reader_active = parts[2].integer == 1;
  const auto& rows = parts[3].elements;
  for (std::size_t i = 0; i < rows.size(); i += 2) {
    auto row = parse_row(rows[i + 1].text);
    if (!row || row->id() != rows[i].text)
      return failure::failure("corrupt membership row " + rows[i].text);
    table.rows.push_back(std::move(*row));
  }
  const auto& alive = parts[4].elements;
  for (std::size_t i = 0; i < alive.size(); i += 2)
    for (auto& row : table.rows)
      if (row.id() == alive[i].text)
        row.alive_ms = std::strtoll(alive[i + 1].text.c_str(), nullptr, 10);
  std::sort(table.rows.begin(), table.rows.end(),
            [](const member_row& a, const member_row& b) {
              return a.id() < b.id();
            });
  return {std::move(table), {}};
}

std::vector<redis_command>
membership_write_commands(uint64_t expected,
                          const std::vector<member_row>& changes,
                          int64_t forget_after_ms) {
  redis_command args{std::to_string(expected), std::to_string(forget_after_ms)};
  for (const auto& row : changes) {
    args.push_back(row.id());
    args.push_back(std::string{to_string(row.status)} + " " + row.address + " "
                   + std::to_string(row.incarnation));
  }
  return {write_script.call({version_key, rows_key, alive_key},
                            std::move(args))};
}

outcome<membership_write_result>
decode_membership_write(const std::vector<redis_reply>& replies) {
  if (replies.size() != 1 || replies[0].type != redis_reply::kind::array
      || replies[0].elements.size() != 2)
    return outcome<membership_write_result>::failure(
      "unexpected answer to the membership write"
      + (replies.empty() ? std::string{} : ": " + replies[0].text));
  const auto& parts = replies[0].elements;
  return {membership_write_result{parts[0].integer == 1,
                                  static_cast<uint64_t>(parts[1].integer)},
          {}};
}

} // namespace motorhead::store
