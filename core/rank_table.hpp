// The tokenizer's ranks: byte strings to numbers, looked up for every pair
// of parts a message's words merge through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace motorhead {

/// Byte strings to ranks in one open-addressing table over one buffer of
/// bytes: a lookup reads a slot and the bytes it names. (A
/// std::unordered_map<std::string, uint32_t> walked a bucket, a node and
/// the hash function of libstdc++: half of the time a message took to
/// count.)
class rank_table {
public:
  static constexpr uint32_t no_rank = std::numeric_limits<uint32_t>::max();

  /// Adds `bytes` with `rank`, unless it is there already or empty, and
  /// returns the rank it holds (no_rank for empty bytes).
  uint32_t insert(std::string_view bytes, uint32_t rank);

  /// The rank of `bytes`, or no_rank.
  uint32_t find(std::string_view bytes) const;

  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

private:
  struct slot {
    uint32_t hash = 0;
    uint32_t rank = 0;
    uint32_t offset = 0; // into bytes_
    uint32_t size = 0;   // 0: the slot is free
  };

  std::size_t position(std::string_view bytes, uint32_t hash) const;
  void grow();

  std::vector<slot> slots_;
  std::string bytes_;
  std::size_t count_ = 0;
};

} // namespace motorhead
