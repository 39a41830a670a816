// What a Redis Cluster client needs to know to route a command: the slot of
// a key, the key of a command, the slot map that CLUSTER SLOTS describes and
// the redirections (MOVED, ASK) a node answers with.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/outcome.hpp"
#include "storage/redis_connection.hpp"

namespace motorhead::cluster_slots {

constexpr std::size_t slot_count = 16384;

/// The slot of `key`: CRC16 (XMODEM) of its hash tag (the text between the
/// first `{` and the next `}`, when not empty) or of the whole key, modulo
/// 16384.
uint16_t key_slot(std::string_view key);

/// The key that decides where `command` runs: the first key of a script,
/// the first argument of other commands; none for commands without keys
/// (PING, WAIT, SCRIPT, CLUSTER, INFO and scripts without keys).
std::optional<std::string_view> routing_key(const redis_command& command);

/// Which master serves each slot.
struct slot_map {
  std::vector<std::string> masters;   // addresses
  std::vector<uint16_t> owner;        // per slot: 1 + index in masters, 0: none

  slot_map() : owner(slot_count, 0) {}
  /// The address of the master of `slot`, or null when none serves it.
  const std::string* master_of(uint16_t slot) const;
  /// Records that `address` serves `slot` (a MOVED redirection).
  void assign(uint16_t slot, const std::string& address);
};

/// Decodes a CLUSTER SLOTS reply. A node listed without a host is
/// `asked_host`, the one the reply came from.
outcome<slot_map> decode_slots(const redis_reply& reply,
                               const std::string& asked_host);

/// A node's answer that the slot of a command is served elsewhere.
struct redirection {
  enum class kind { moved, ask } type;
  uint16_t slot;
  std::string address;
};

/// The redirection an error reply names ("MOVED 3999 127.0.0.1:6381",
/// "ASK 3999 ..."), if it is one.
std::optional<redirection> redirection_of(const redis_reply& reply);

} // namespace motorhead::cluster_slots
