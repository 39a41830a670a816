// `motorhead migrate`: moves everything the original Motorhead wrote in a
// Redis into this server's layout ahead of time (sessions, their indexes
// and long-term memory), which servers otherwise do a session at a time as
// they load them. Safe to run while servers serve, and to run again.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "core/outcome.hpp"

namespace motorhead {

struct migrate_options {
  bool dry_run = false;
  /// The model that made the original's vectors: they are kept only when
  /// MOTORHEAD_EMBEDDING_MODEL is that model (vectors of other models,
  /// even of the same dimension, do not compare).
  std::string vectors_model = "text-embedding-ada-002";
};

/// The options of `motorhead migrate ARGS...`, or why they are wrong.
outcome<migrate_options> parse_migrate_arguments(
  const std::vector<std::string>& args);

void print_migrate_usage(std::ostream& out);

/// Runs the migration against the Redis `cfg` names; the summary goes to
/// `out`, the progress to `progress`. Returns the process's exit status:
/// 0 once everything that can move moved.
int run_migration(const settings& cfg, const migrate_options& options,
                  std::ostream& out, std::ostream& progress);

} // namespace motorhead
