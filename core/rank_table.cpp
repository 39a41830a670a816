#include "core/rank_table.hpp"

#include <cstring>

namespace motorhead {

namespace {

/// FNV-1a: tokens are a few bytes long, where it beats hashes built for
/// long keys.
uint32_t hash_of(std::string_view bytes) {
  uint32_t hash = 2166136261u;
  for (unsigned char byte : bytes)
    hash = (hash ^ byte) * 16777619u;
  return hash;
}

} // namespace

/// The slot that holds `bytes`, or the free one where it would go (linear
/// probing; the table is at most half full).
std::size_t rank_table::position(std::string_view bytes, uint32_t hash) const {
  auto mask = slots_.size() - 1;
  for (auto i = hash & mask;; i = (i + 1) & mask) {
    const auto& entry = slots_[i];
    if (entry.size == 0
        || (entry.hash == hash && entry.size == bytes.size()
            && std::memcmp(bytes_.data() + entry.offset, bytes.data(),
                           bytes.size()) == 0))
      return i;
  }
}

uint32_t rank_table::insert(std::string_view bytes, uint32_t rank) {
  if (bytes.empty())
    return no_rank; // never looked up: a part of a word has a byte at least
  if (2 * (count_ + 1) > slots_.size())
    grow();
  auto hash = hash_of(bytes);
  auto& entry = slots_[position(bytes, hash)];
  if (entry.size != 0)
    return entry.rank;
  entry = {hash, rank, static_cast<uint32_t>(bytes_.size()),
           static_cast<uint32_t>(bytes.size())};
  bytes_.append(bytes);
  ++count_;
  return rank;
}

uint32_t rank_table::find(std::string_view bytes) const {
  if (bytes.empty() || slots_.empty())
    return no_rank;
  const auto& entry = slots_[position(bytes, hash_of(bytes))];
  return entry.size == 0 ? no_rank : entry.rank;
}

void rank_table::grow() {
  std::vector<slot> old(slots_.empty() ? 1024 : 2 * slots_.size());
  old.swap(slots_);
  for (const auto& entry : old)
    if (entry.size != 0)
      slots_[position({bytes_.data() + entry.offset, entry.size}, entry.hash)]
        = entry;
}

} // namespace motorhead
