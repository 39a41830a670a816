// The bridge actor: runs the closures the I/O thread hands it and answers
// 504 for the requests it holds past their deadline.
#include "http/api_bridge.hpp"

#include <algorithm>

namespace motorhead::http {

bridge::bridge(caf::actor_config& cfg, std::chrono::milliseconds timeout)
  : caf::event_based_actor(cfg),
    timeout_(timeout),
    sweep_interval_(std::max(std::chrono::milliseconds{10}, timeout / 50)) {
}

caf::behavior bridge::make_behavior() {
  return {
    [this](bridge_task& task) { task.run(this); },
    [this](caf::tick_atom) { sweep(); },
  };
}

void bridge::sweep() {
  auto now = clock().now();
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    it->second.respond(
      error_response(caf::make_error(caf::sec::request_timeout)));
    it = in_flight_.erase(it);
  }
  sweep_scheduled_ = !in_flight_.empty();
  if (sweep_scheduled_)
    delayed_send(this, sweep_interval_, caf::tick_atom::value);
}

} // namespace motorhead::http
