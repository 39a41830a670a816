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

std::string owner_of(const std::string& session,
                     const std::vector<std::string>& members) {
  std::string best;
  uint64_t best_weight = 0;
  for (const auto& member : members) {
    auto weight = stable_hash(member + '\0' + session);
    if (best.empty() || weight > best_weight
        || (weight == best_weight && member < best)) {
      best = member;
      best_weight = weight;
    }
  }
  return best;
}

} // namespace motorhead
