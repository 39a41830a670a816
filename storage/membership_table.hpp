// The cluster's membership table in Redis, as Orleans keeps one: a row per
// node incarnation, the table's version, each member's renewals and the
// suspicions members hold of one another. Every change of the rows is
// conditional on the version (optimistic concurrency), so that two nodes
// acting on the same view cannot both change it; so is a renewal of a
// member's lease, which succeeds only while its row is active and the table
// still at the version the member holds.
//
// Keys (one hash tag: one slot on a Redis Cluster, so that one script
// reads and writes them all):
//   motorhead:{members}:version     STRING the table's version
//   motorhead:{members}:rows        HASH member id -> "status address
//                                        incarnation joined ended changed_ms"
//                                        (the versions it was active over,
//                                        [joined, ended); ended 0 while
//                                        active)
//   motorhead:{members}:renewals    HASH member id -> renewals so far
//   motorhead:{members}:suspicions  HASH "suspect suspecter" -> ms (Redis'
//                                        clock) of the suspicion
//   motorhead:{members}:forgotten   STRING the newest version at which a
//                                        forgotten row ended
//   motorhead:{members}:generation  STRING set once, where INFO is hidden:
//                                        a Redis that lost it is another
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
  uint64_t joined = 0;      // the version its row became active at
  uint64_t ended = 0;       // the version it left or died at; 0: active
  uint64_t renewals = 0;    // its lease renewals so far

  /// "address/incarnation": the row's field in the table.
  std::string id() const;
};

struct membership_table {
  uint64_t version = 0;
  std::vector<member_row> rows; // by id
  /// Views before this version are not described: rows ended before it
  /// were forgotten.
  uint64_t known_since = 0;
  /// Whether the reader's lease was renewed by this read.
  bool renewed = false;
  /// The Redis process that answered: another one (a restart, a failover)
  /// may have lost the newest writes to the table.
  std::string redis_run_id;

  const member_row* find(const std::string& id) const;
};

/// Reads the table. With a `reader` id (not ""), first renews that
/// member's lease if its row is active and the table at `held_version`.
std::vector<redis_command> membership_read_commands(const std::string& reader,
                                                    uint64_t held_version);
outcome<membership_table>
decode_membership(const std::vector<redis_reply>& replies);

/// Writes `changes` (each replaces the row of its id; its changed_ms is
/// Redis' clock, its joined and ended versions the script's) if the table
/// is still at version `expected`, and moves the version on by one. The
/// same write drops the rows of members that left or died over
/// `forget_after_ms` ago, and the suspicions of members no longer active.
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

/// Records that `suspecter` suspects `suspect` (both active members) if
/// the table is still at version `expected`. Suspicions count for
/// `window_ms` (Redis' clock). Once a majority of the other active members
/// suspect it, the same script writes the suspect dead and moves the
/// version on: `written` says so. A conflict answers the table's version.
std::vector<redis_command>
membership_suspect_commands(uint64_t expected, const std::string& suspect,
                            const std::string& suspecter, int64_t window_ms,
                            int64_t forget_after_ms);

struct membership_suspect_result {
  bool recorded = false; // false: the table had moved on
  bool declared_dead = false;
  uint64_t version = 0;
};
outcome<membership_suspect_result>
decode_membership_suspect(const std::vector<redis_reply>& replies);

} // namespace motorhead::store
