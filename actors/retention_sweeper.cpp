#include "actors/retention_sweeper.hpp"

#include <algorithm>
#include <memory>

#include <caf/all.hpp>

#include "actors/fan_in.hpp"
#include "core/metrics.hpp"
#include "core/unix_time.hpp"

namespace motorhead {

namespace {

/// Sessions read from each shard of the index per batch.
constexpr uint32_t sessions_per_batch = 1000;

/// Deletes the sessions of one batch; `done(full)` runs once each delete
/// answered, `full` saying whether more may be waiting.
template <class Done>
void delete_batch(caf::event_based_actor* self, router_actor router,
                  const std::vector<std::string>& sessions, int64_t cutoff,
                  Done done) {
  bool full = sessions.size() >= sessions_per_batch;
  if (sessions.empty()) {
    done(false);
    return;
  }
  auto waiting = std::make_shared<std::size_t>(sessions.size());
  send_windowed(sessions.size(), [=](std::size_t i, auto next) mutable {
    auto one_done = [=]() mutable {
      next();
      if (--*waiting == 0)
        done(full);
    };
    // A session touched since it was listed answers `touched`, and stays.
    self->request(router, caf::infinite, memory_delete_atom::value,
                  sessions[i], erase_request{{}, true, cutoff}, access_scope{})
      .then(
        [=](ok_atom) mutable {
          metrics::global().sessions_expired.add();
          one_done();
        },
        [=](caf::error&) mutable { one_done(); });
  });
}

} // namespace

std::chrono::milliseconds retention_interval(std::chrono::seconds ttl) {
  return std::clamp<std::chrono::milliseconds>(ttl / 4, std::chrono::seconds{1},
                                               std::chrono::seconds{60});
}

caf::behavior retention_sweeper(caf::event_based_actor* self,
                                persistence_actor store, router_actor router,
                                std::chrono::seconds ttl,
                                std::chrono::milliseconds interval) {
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      auto next = [=](bool full) {
        self->delayed_send(self, full ? std::chrono::milliseconds{10} : interval,
                           tick_atom::value);
      };
      auto cutoff = unix_time_ms()
                    - std::chrono::duration_cast<std::chrono::milliseconds>(ttl)
                        .count();
      self->request(store, caf::infinite, expire_atom::value, cutoff,
                    sessions_per_batch)
        .then(
          [=](const std::vector<std::string>& sessions) {
            delete_batch(self, router, sessions, cutoff, next);
          },
          [=](const caf::error&) { next(false); });
    },
  };
}

} // namespace motorhead
