// Which node owns a session: rendezvous (highest random weight) hashing.
// Every node computes the same owner from the same member list, and when a
// member leaves only its own sessions move.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace motorhead {

/// A 64-bit hash that is the same on every build and platform.
uint64_t stable_hash(std::string_view text);

/// Whether `member` wins `session` over `rival` (a higher weight; the
/// lower address on a tie): owner_of picks the member that wins over all.
bool wins_over(const std::string& member, const std::string& rival,
               const std::string& session);

/// The member with the highest weight for `session`; "" when there is none.
std::string owner_of(const std::string& session,
                     const std::vector<std::string>& members);

} // namespace motorhead
