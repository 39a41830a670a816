// The cluster's membership table in Redis, as Orleans keeps one: a row per
// node incarnation, the table's version, and each member's last sign of
// life. Every change of the rows is conditional on the version (optimistic
// concurrency), so that two nodes acting on the same view cannot both
// change it; a sign of life changes no view and is written as it comes.
//
// Keys (one hash tag: one slot on a Redis Cluster, so that one script
// reads and writes them all):
//   motorhead:{members}:version  STRING the table's version
//   motorhead:{members}:rows     HASH member id -> "status address
//                                     incarnation changed_ms"
//   motorhead:{members}:alive    HASH member id -> ms of its last sign of
//                                     life (Redis' clock)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/outcome.hpp"
#include "storage/redis_connection.hpp"

namespace motorhead::store {

enum class member_status { active, left, dead };

const char* to_string(member_status status);

/// One node incarnation. A restarted process is a new member: the same
/// address, a new incarnation.
struct member_row {
  std::string address;      // host:port its peers reach its cluster port at
  uint64_t incarnation = 0; // its start, in microseconds since the epoch
  member_status status = member_status::active;
  int64_t changed_ms = 0;   // when the status was written (Redis' clock)
  int64_t alive_ms = 0;     // its last sign of life (Redis' clock); 0: none

  /// "address/incarnation": the row's field in the table.
  std::string id() const;
};

struct membership_table {
  uint64_t version = 0;
  int64_t now_ms = 0;           // Redis' clock when it was read
  std::vector<member_row> rows; // by id
  /// Whether the member whose sign of life came with the read is active.
  bool reader_active = false;

  const member_row* find(const std::string& id) const;
};

/// Reads the table. With a `reader` id (not ""), first records that
/// member's sign of life, if its row is active.
std::vector<redis_command> membership_read_commands(const std::string& reader);
outcome<membership_table>
decode_membership(const std::vector<redis_reply>& replies);

/// Writes `changes` (each replaces the row of its id; its changed_ms and
/// alive_ms are Redis' clock) if the table is still at version `expected`,
/// and moves the version on by one. An active row counts as alive from
/// now; a row that is not active has no sign of life. The same write drops
/// the rows of members that left or died over `forget_after_ms` ago.
std::vector<redis_command>
membership_write_commands(uint64_t expected,
                          const std::vector<member_row>& changes,
                          int64_t forget_after_ms);

/// What a conditional write found: its new version, or the version the
/// table had moved on to (a conflict: read it again and decide anew).
struct membership_write_result {
  bool written = false;
  uint64_t version = 0;
};
outcome<membership_write_result>
decode_membership_write(const std::vector<redis_reply>& replies);

} // namespace motorhead::store
