#include "storage/membership_table.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "storage/lua_script.hpp"

namespace motorhead::store {

namespace {

const std::string version_key = "motorhead:{members}:version";
const std::string rows_key = "motorhead:{members}:rows";
const std::string renewals_key = "motorhead:{members}:renewals";
const std::string suspicions_key = "motorhead:{members}:suspicions";
const std::string forgotten_key = "motorhead:{members}:forgotten";
const std::string generation_key = "motorhead:{members}:generation";

std::vector<std::string> table_keys() {
  return {version_key, rows_key, renewals_key, suspicions_key, forgotten_key,
          generation_key};
}

// What the scripts that change the table share. KEYS: version, rows,
// renewals, suspicions, forgotten. A row is "status address incarnation
// joined ended changed_ms" (rows written before the versions were kept:
// "status address incarnation changed_ms").
const std::string table_functions = R"lua(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function parse(row)
  local status, address, incarnation, joined, ended, changed =
    string.match(row, '^(%a+) (%S+) (%d+) (%d+) (%d+) (%d+)$')
  if status then
    return {status = status, address = address, incarnation = incarnation,
            joined = tonumber(joined), ended = tonumber(ended),
            changed = tonumber(changed)}
  end
  status, address, incarnation, changed =
    string.match(row, '^(%a+) (%S+) (%d+) (%d+)$')
  return {status = status, address = address, incarnation = incarnation,
          joined = 0, ended = 0, changed = tonumber(changed or '0')}
end

local function rows_by_id()
  local flat = redis.call('HGETALL', KEYS[2])
  local rows = {}
  for i = 1, #flat, 2 do rows[flat[i]] = parse(flat[i + 1]) end
  return rows
end

-- Writes the row of `id` as `status` at version `version`, keeping the
-- version it joined at.
local function set_row(id, status, address, incarnation, version, now)
  local old = redis.call('HGET', KEYS[2], id)
  local joined = version
  if old then
    local row = parse(old)
    if row.status == 'active' then joined = row.joined end
  end
  local ended = 0
  if status ~= 'active' then
    ended = version
    if not old then joined = version end
  else
    redis.call('HSETNX', KEYS[3], id, 0)
  end
  redis.call('HSET', KEYS[2], id, status .. ' ' .. address .. ' '
             .. incarnation .. ' ' .. joined .. ' ' .. ended .. ' ' .. now)
end

-- Drops the rows of members gone for `forget_after` ms (remembering the
-- newest version a dropped row ended at), and the suspicions that concern
-- a member no longer active.
local function tidy(now, forget_after)
  local rows = rows_by_id()
  for id, row in pairs(rows) do
    if row.status ~= 'active' and now - row.changed > forget_after then
      redis.call('HDEL', KEYS[2], id)
      redis.call('HDEL', KEYS[3], id)
      local forgotten = tonumber(redis.call('GET', KEYS[5]) or '0')
      if row.ended > forgotten then redis.call('SET', KEYS[5], row.ended) end
    end
  end
  local suspicions = redis.call('HGETALL', KEYS[4])
  for i = 1, #suspicions, 2 do
    local suspect, suspecter = string.match(suspicions[i], '^(%S+) (%S+)$')
    local a, b = rows[suspect or ''], rows[suspecter or '']
    if not (a and b and a.status == 'active' and b.status == 'active') then
      redis.call('HDEL', KEYS[4], suspicions[i])
    end
  end
end
)lua";

// ARGV: the reader's id, or "", and the version it holds. Renews the
// reader's lease if its row is active and the table at that version, then
// answers the version, whether it renewed, the rows, the renewals, the
// version before which rows were forgotten and the run id of the Redis
// process that answered (a restart or a failover changes it).
// KEYS: version, rows, renewals, suspicions, forgotten, generation.
const lua_script read_script{R"lua(
local version = tonumber(redis.call('GET', KEYS[1]) or '0')
local renewed = 0
if ARGV[1] ~= '' and tonumber(ARGV[2]) == version then
  local row = redis.call('HGET', KEYS[2], ARGV[1])
  if row and string.sub(row, 1, 7) == 'active ' then
    redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
    renewed = 1
  end
end
local info = redis.pcall('INFO', 'server')
local server = type(info) == 'string' and string.match(info, 'run_id:(%x+)')
if not server then
  -- INFO hidden (a hosted Redis): a generation kept in Redis stands in,
  -- new whenever the table's keys were lost.
  local t = redis.call('TIME')
  redis.call('SET', KEYS[6], t[1] .. t[2], 'NX')
  server = 'generation ' .. redis.call('GET', KEYS[6])
end
return {version, renewed, redis.call('HGETALL', KEYS[2]),
        redis.call('HGETALL', KEYS[3]),
        tonumber(redis.call('GET', KEYS[5]) or '0'), server}
)lua"};

// ARGV: the expected version, forget_after_ms, then pairs of id and
// "status address incarnation". Answers {1, new version} once written,
// {0, version} when the table moved on.
const lua_script write_script{table_functions + R"lua(
local version = tonumber(redis.call('GET', KEYS[1]) or '0')
if version ~= tonumber(ARGV[1]) then
  return {0, version}
end
local now = now_ms()
for i = 3, #ARGV, 2 do
  local status, address, incarnation =
    string.match(ARGV[i + 1], '^(%a+) (%S+) (%d+)$')
  set_row(ARGV[i], status, address, incarnation, version + 1, now)
end
redis.call('SET', KEYS[1], version + 1)
tidy(now, tonumber(ARGV[2]))
return {1, version + 1}
)lua"};

// ARGV: the expected version, the suspect's id, the suspecter's id, the
// window a suspicion counts for (ms), forget_after_ms. Answers {0, version}
// when the table moved on, {1, version, dead} once recorded: dead 1 when a
// majority of the other active members suspect it now, and it was written
// dead at the new version.
const lua_script suspect_script{table_functions + R"lua(
local version = tonumber(redis.call('GET', KEYS[1]) or '0')
if version ~= tonumber(ARGV[1]) then
  return {0, version, 0}
end
local rows = rows_by_id()
local suspect, suspecter = rows[ARGV[2]], rows[ARGV[3]]
if not (suspect and suspecter and suspect.status == 'active'
        and suspecter.status == 'active') then
  return {1, version, 0}
end
local now = now_ms()
redis.call('HSET', KEYS[4], ARGV[2] .. ' ' .. ARGV[3], now)
local others, suspecting = 0, 0
for id, row in pairs(rows) do
  if row.status == 'active' and id ~= ARGV[2] then
    others = others + 1
    local at = redis.call('HGET', KEYS[4], ARGV[2] .. ' ' .. id)
    if at and now - tonumber(at) <= tonumber(ARGV[4]) then
      suspecting = suspecting + 1
    end
  end
end
if suspecting * 2 <= others then
  return {1, version, 0}
end
set_row(ARGV[2], 'dead', suspect.address, suspect.incarnation, version + 1, now)
redis.call('SET', KEYS[1], version + 1)
tidy(now, tonumber(ARGV[5]))
return {1, version + 1, 1}
)lua"};

std::optional<member_status> status_named(const std::string& name) {
  for (auto status : {member_status::active, member_status::left,
                      member_status::dead})
    if (name == to_string(status))
      return status;
  return std::nullopt;
}

/// A row as the scripts store it: "status address incarnation joined
/// ended changed_ms", or "status address incarnation changed_ms" (written
/// before the versions were kept).
std::optional<member_row> parse_row(const std::string& text) {
  std::istringstream in{text};
  std::string status;
  std::vector<uint64_t> numbers;
  member_row row;
  if (!(in >> status >> row.address))
    return std::nullopt;
  for (uint64_t n; in >> n;)
    numbers.push_back(n);
  if (!in.eof() || (numbers.size() != 2 && numbers.size() != 4))
    return std::nullopt;
  row.incarnation = numbers.front();
  row.changed_ms = static_cast<int64_t>(numbers.back());
  if (numbers.size() == 4) {
    row.joined = numbers[1];
    row.ended = numbers[2];
  }
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

std::vector<redis_command> membership_read_commands(const std::string& reader,
                                                    uint64_t held_version) {
  return {read_script.call(table_keys(),
                           {reader, std::to_string(held_version)})};
}

outcome<membership_table>
decode_membership(const std::vector<redis_reply>& replies) {
  using failure = outcome<membership_table>;
  if (replies.size() != 1 || replies[0].type != redis_reply::kind::array
      || replies[0].elements.size() != 6)
    return failure::failure(
      "unexpected answer to the membership read"
      + (replies.empty() ? std::string{} : ": " + replies[0].text));
  const auto& parts = replies[0].elements;
  if (!is_flat_pairs(parts[2]) || !is_flat_pairs(parts[3]))
    return failure::failure("unexpected rows in the membership table");
  membership_table table;
  table.version = static_cast<uint64_t>(parts[0].integer);
  table.renewed = parts[1].integer == 1;
  table.known_since = static_cast<uint64_t>(parts[4].integer);
  table.redis_run_id = parts[5].text;
  const auto& rows = parts[2].elements;
  for (std::size_t i = 0; i < rows.size(); i += 2) {
    auto row = parse_row(rows[i + 1].text);
    if (!row || row->id() != rows[i].text)
      return failure::failure("corrupt membership row " + rows[i].text);
    if (row->status != member_status::active && row->ended == 0) {
      // Written before rows kept their versions: it ended before this
      // version, when is unknown, so no older view is described.
      row->ended = table.version;
      table.known_since = std::max(table.known_since, table.version);
    }
    table.rows.push_back(std::move(*row));
  }
  const auto& renewals = parts[3].elements;
  for (std::size_t i = 0; i < renewals.size(); i += 2)
    for (auto& row : table.rows)
      if (row.id() == renewals[i].text)
        row.renewals = std::strtoull(renewals[i + 1].text.c_str(), nullptr, 10);
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
  return {write_script.call(table_keys(), std::move(args))};
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

std::vector<redis_command>
membership_suspect_commands(uint64_t expected, const std::string& suspect,
                            const std::string& suspecter, int64_t window_ms,
                            int64_t forget_after_ms) {
  return {suspect_script.call(
    table_keys(), {std::to_string(expected), suspect, suspecter,
                   std::to_string(window_ms), std::to_string(forget_after_ms)})};
}

outcome<membership_suspect_result>
decode_membership_suspect(const std::vector<redis_reply>& replies) {
  if (replies.size() != 1 || replies[0].type != redis_reply::kind::array
      || replies[0].elements.size() != 3)
    return outcome<membership_suspect_result>::failure(
      "unexpected answer to a suspicion"
      + (replies.empty() ? std::string{} : ": " + replies[0].text));
  const auto& parts = replies[0].elements;
  return {membership_suspect_result{parts[0].integer == 1,
                                    parts[2].integer == 1,
                                    static_cast<uint64_t>(parts[1].integer)},
          {}};
}

} // namespace motorhead::store
