#include "core/rendezvous.hpp"

namespace motorhead {

namespace {

/// splitmix64's finaliser: spreads FNV's weak low bits over the word.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

} // namespace

uint64_t stable_hash(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL; // FNV-1a
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return mix(hash);
}

namespace {

uint64_t weight_of(const std::string& member, const std::string& session) {
  return stable_hash(member + '\0' + session);
}

} // namespace

bool wins_over(const std::string& member, const std::string& rival,
               const std::string& session) {
  auto mine = weight_of(member, session);
  auto theirs = weight_of(rival, session);
  return mine > theirs || (mine == theirs && member < rival);
}

std::string owner_of(const std::string& session,
                     const std::vector<std::string>& members) {
  if (members.size() == 1) // a lone node, as most are: no weight to weigh
    return members.front();
  std::string best;
  uint64_t best_weight = 0;
  for (const auto& member : members) {
    auto weight = weight_of(member, session);
    if (best.empty() || weight > best_weight
        || (weight == best_weight && member < best)) {
      best = member;
      best_weight = weight;
    }
  }
  return best;
}

} // namespace motorhead
