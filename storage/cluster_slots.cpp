#include "storage/cluster_slots.hpp"

#include <array>
#include <charconv>

namespace motorhead::cluster_slots {

namespace {

constexpr std::array<uint16_t, 256> crc16_table() {
  std::array<uint16_t, 256> table{};
  for (uint16_t byte = 0; byte < 256; ++byte) {
    uint16_t crc = static_cast<uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit)
      crc = static_cast<uint16_t>((crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021
                                                      : crc << 1);
    table[byte] = crc;
  }
  return table;
}

uint16_t crc16(std::string_view data) {
  static constexpr auto table = crc16_table();
  uint16_t crc = 0;
  for (unsigned char c : data)
    crc = static_cast<uint16_t>((crc << 8) ^ table[((crc >> 8) ^ c) & 0xff]);
  return crc;
}

bool is_keyless(const std::string& name) {
  for (const char* keyless : {"PING", "WAIT", "SCRIPT", "CLUSTER", "INFO",
                              "ASKING", "ROLE"})
    if (name == keyless)
      return true;
  return false;
}

} // namespace

uint16_t key_slot(std::string_view key) {
  if (auto open = key.find('{'); open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  return static_cast<uint16_t>(crc16(key) % slot_count);
}

std::optional<std::string_view> routing_key(const redis_command& command) {
  if (command.size() < 2 || is_keyless(command[0]))
    return std::nullopt;
  if (command[0] == "EVALSHA" || command[0] == "EVAL") {
    if (command.size() < 4 || command[2] == "0")
      return std::nullopt;
    return std::string_view{command[3]};
  }
  return std::string_view{command[1]};
}

const std::string* slot_map::master_of(uint16_t slot) const {
  auto index = owner[slot];
  return index == 0 ? nullptr : &masters[index - 1];
}

void slot_map::assign(uint16_t slot, const std::string& address) {
  std::size_t index = 0;
  while (index < masters.size() && masters[index] != address)
    ++index;
  if (index == masters.size())
    masters.push_back(address);
  owner[slot] = static_cast<uint16_t>(index + 1);
}

outcome<slot_map> decode_slots(const redis_reply& reply,
                               const std::string& asked_host) {
  using result = outcome<slot_map>;
  if (reply.type != redis_reply::kind::array)
    return result::failure("CLUSTER SLOTS: "
                           + (reply.is_error() ? reply.text
                                               : "not a list of ranges"));
  slot_map map;
  for (const auto& range : reply.elements) {
    const auto& parts = range.elements;
    if (parts.size() < 3 || parts[0].type != redis_reply::kind::integer
        || parts[1].type != redis_reply::kind::integer
        || parts[2].elements.size() < 2 || parts[0].integer < 0
        || parts[1].integer >= static_cast<int64_t>(slot_count)
        || parts[0].integer > parts[1].integer)
      return result::failure("CLUSTER SLOTS: a malformed slot range");
    const auto& master = parts[2].elements;
    redis_endpoint endpoint;
    endpoint.host = master[0].text.empty() || master[0].text == "?"
                      ? asked_host
                      : master[0].text;
    if (master[1].type != redis_reply::kind::integer || master[1].integer <= 0
        || master[1].integer > 65535)
      return result::failure("CLUSTER SLOTS: a malformed node port");
    endpoint.port = static_cast<uint16_t>(master[1].integer);
    auto address = address_of(endpoint);
    for (auto slot = parts[0].integer; slot <= parts[1].integer; ++slot)
      map.assign(static_cast<uint16_t>(slot), address);
  }
  return {std::move(map), {}};
}

std::optional<redirection> redirection_of(const redis_reply& reply) {
  redirection found{};
  std::string_view text = reply.text;
  if (reply.is_error("MOVED "))
    found.type = redirection::kind::moved;
  else if (reply.is_error("ASK "))
    found.type = redirection::kind::ask;
  else
    return std::nullopt;
  text.remove_prefix(text.find(' ') + 1);
  auto space = text.find(' ');
  if (space == std::string_view::npos)
    return std::nullopt;
  unsigned slot = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + space, slot);
  if (ec != std::errc{} || end != text.data() + space || slot >= slot_count)
    return std::nullopt;
  found.slot = static_cast<uint16_t>(slot);
  found.address = std::string{text.substr(space + 1)};
  if (!endpoint_of(found.address))
    return std::nullopt;
  return found;
}

} // namespace motorhead::cluster_slots
