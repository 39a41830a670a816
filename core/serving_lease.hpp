// A node's lease to serve sessions from memory, tied to the view of the
// membership it was renewed under. The cluster node renews it (a renewal
// in Redis succeeds only while the node's row is active and the table is
// still at the version the node holds); every session checks it on every
// request, after the request arrived, on the boot clock. Writes stay fenced
// by each session's epoch in Redis whatever the lease says; the lease is
// what keeps reads from memory fresh.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/boot_clock.hpp"

namespace motorhead {

/// One member incarnation's part in the views: the versions of the table
/// it was active in, [from, until); until 0 while it is active.
struct member_span {
  std::string address;
  uint64_t from = 0;
  uint64_t until = 0;

  bool active_at(uint64_t version) const {
    return from <= version && (until == 0 || version < until);
  }
};

/// What a read of the membership table tells of its views: the version
/// read, and every member that was active since `known_since` (rows of
/// members gone for long are forgotten: views before it are unknown).
struct view_history {
  uint64_t version = 0;
  uint64_t known_since = 0;
  std::vector<member_span> spans;

  /// The members active at `version`, by address, sorted.
  std::vector<std::string> members_at(uint64_t version) const;

  /// Whether `self` owned `session` in every view from `from` to this
  /// one: it was a member of each, and won over each member active in any
  /// of them.
  bool owned_throughout(const std::string& session, const std::string& self,
                        uint64_t from) const;

  /// Whether `self` was a member of every view from `from` to this one.
  bool active_throughout(const std::string& self, uint64_t from) const;
};

class serving_lease {
public:
  using clock_function = std::function<boot_clock::time_point()>;

  explicit serving_lease(clock_function clock = &boot_clock::now);

  boot_clock::time_point now() const { return clock_(); }

  /// A renewal under `view` (sent when the holder's count began) was
  /// acknowledged: this node, `self`, may serve until `until`.
  void renewed(std::string self, std::shared_ptr<const view_history> view,
               boot_clock::time_point until);

  /// The node adopted a newer view before renewing under it: sessions are
  /// judged by it at once (what moved away stops), until the present
  /// lease runs out.
  void adopt(std::shared_ptr<const view_history> view);

  /// Serves nothing from memory any more (declared dead, cut off, leaving).
  void revoke();

  /// The view a session loaded now is loaded under, if this node may load
  /// it now: the lease runs and the session is this node's in its view.
  std::optional<uint64_t> may_load(const std::string& session) const;

  /// Whether a session loaded under view `loaded` may answer from memory
  /// now: the lease runs and the session was this node's in every view
  /// since. Moves `loaded` on to the lease's view when it was.
  bool covers(const std::string& session, uint64_t& loaded) const;

  /// Whether the lease runs now (whatever it covers).
  bool valid() const;

private:
  struct grant {
    std::string self;
    std::shared_ptr<const view_history> view;
    boot_clock::time_point until;
  };

  std::shared_ptr<const grant> current() const;

  clock_function clock_;
  mutable std::mutex mutex_;
  std::shared_ptr<const grant> grant_;
};

} // namespace motorhead
