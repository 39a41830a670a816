#include "storage/shared_rate_limit.hpp"

#include <string>

#include "storage/lua_script.hpp"

namespace motorhead::store {

namespace {

// KEYS: requests bucket, tokens bucket. ARGV: rpm, tpm, tokens (0: no limit).
// The same continuous refill as the node-local limiter, on Redis' clock.
const lua_script bucket_script{R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function level_of(key, capacity)
  if capacity == 0 then return nil end
  local saved = redis.call('HMGET', key, 'level', 'ts')
  local level = tonumber(saved[1]) or capacity
  local ts = tonumber(saved[2]) or now
  return math.min(capacity, level + capacity * math.max(0, now - ts) / 60000)
end
local rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2])
local need = math.min(tonumber(ARGV[3]), tpm)
local requests, tokens = level_of(KEYS[1], rpm), level_of(KEYS[2], tpm)
local wait = 0
if requests and requests < 1 then
  wait = math.max(wait, (1 - requests) * 60000 / rpm)
end
if tokens and tokens < need then
  wait = math.max(wait, (need - tokens) * 60000 / tpm)
end
if wait == 0 then
  if requests then requests = requests - 1 end
  if tokens then tokens = tokens - need end
end
if requests then
  redis.call('HSET', KEYS[1], 'level', tostring(requests), 'ts', now)
  redis.call('PEXPIRE', KEYS[1], 120000)
end
if tokens then
  redis.call('HSET', KEYS[2], 'level', tostring(tokens), 'ts', now)
  redis.call('PEXPIRE', KEYS[2], 120000)
end
return math.ceil(wait)
)lua"};

} // namespace

std::vector<redis_command> rate_limit_commands(uint64_t requests_per_minute,
                                               uint64_t tokens_per_minute,
                                               uint64_t tokens) {
  return {bucket_script.call(
    {"motorhead:{ratelimit}:requests", "motorhead:{ratelimit}:tokens"},
    {std::to_string(requests_per_minute), std::to_string(tokens_per_minute),
     std::to_string(tokens)})};
}

outcome<int64_t> decode_rate_limit(const std::vector<redis_reply>& replies) {
  if (replies.empty() || replies[0].type != redis_reply::kind::integer)
    return outcome<int64_t>::failure(
      "unexpected answer from the rate limit script"
      + (replies.empty() ? std::string{} : ": " + replies[0].text));
  return {replies[0].integer, {}};
}

} // namespace motorhead::store
