#include "core/random_id.hpp"

#include <cstdint>
#include <random>

namespace motorhead {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

/// A generator seeded with 256 bits from the system's source. One
/// `random_device` word (32 bits) would give two of the threads that ever
/// start, across nodes and restarts, even odds of the same stream of ids
/// once about 77,000 had started; and a UUID the server makes is taken for
/// one never stored before (the append script looks up a client's ids
/// only).
std::mt19937_64 seeded_engine() {
  std::random_device device;
  std::seed_seq seed{device(), device(), device(), device(),
                     device(), device(), device(), device()};
  return std::mt19937_64{seed};
}

/// One generator per thread, seeded once: ids need no lock.
std::mt19937_64& generator() {
  thread_local std::mt19937_64 engine = seeded_engine();
  return engine;
}

} // namespace

std::string random_hex(std::size_t digits) {
  std::string id(digits, '0');
  uint64_t bits = 0;
  for (std::size_t i = 0; i < digits; ++i, bits >>= 4) {
    if (i % 16 == 0)
      bits = generator()();
    id[i] = hex_digits[bits & 0xf];
  }
  return id;
}

std::string random_uuid() {
  // xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx: 122 random bits.
  std::string id(36, '-');
  auto bits = generator()();
  std::size_t digit = 0;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (is_uuid_hyphen_position(i))
      continue;
    if (digit++ == 16)
      bits = generator()();
    id[i] = hex_digits[bits & 0xf];
    bits >>= 4;
  }
  id[14] = '4';                                  // version 4
  id[19] = hex_digits[8 + (generator()() & 3)];  // variant 10xx
  return id;
}

} // namespace motorhead
