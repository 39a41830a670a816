// The provider rate limit shared by every node: two token buckets (requests
// and tokens per minute) in Redis, updated atomically by one Lua script on
// Redis' own clock.
//
// Keys: motorhead:{ratelimit}:requests, motorhead:{ratelimit}:tokens
//       (HASH level, ts; one hash tag, so one script may touch both)
#pragma once

#include <cstdint>
#include <vector>

#include "core/outcome.hpp"
#include "storage/redis_connection.hpp"

namespace motorhead::store {

/// Takes one request and `tokens` when both buckets allow it.
std::vector<redis_command> rate_limit_commands(uint64_t requests_per_minute,
                                               uint64_t tokens_per_minute,
                                               uint64_t tokens);

/// 0 when the call may go, else the milliseconds to wait.
outcome<int64_t> decode_rate_limit(const std::vector<redis_reply>& replies);

} // namespace motorhead::store
