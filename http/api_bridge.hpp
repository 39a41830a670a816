// The bridge actor, from which the API handler's requests to the router
// start and which answers 504 for those not answered in time; and
// api_handler::ask_router, which hands it one. Private to http/api_*.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <caf/all.hpp>

#include "core/log.hpp"
#include "http/api_handler.hpp"
#include "http/api_message.hpp"

namespace motorhead::http {

class bridge;

/// A closure to run inside the bridge actor, where it may send requests.
struct bridge_task {
  std::function<void(bridge*)> run;
};

} // namespace motorhead::http

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(motorhead::http::bridge_task)

namespace motorhead::http {

/// Runs the closures the I/O thread hands it, so that requests to actors
/// start from an actor, and answers 504 for those not answered in time.
/// CAF's own request timeouts would put one timer per request on the
/// actor clock (a lock and a wake-up of its thread each); instead the
/// bridge keeps its requests in flight, at most one per connection, and
/// sweeps them every `sweep_interval`. (A class: CAF 0.17 spawns a
/// function actor without arguments through an empty argument tuple that
/// UBSan reports.)
class bridge : public caf::event_based_actor {
public:
  /// Answers 504 for a request it holds longer than `timeout`.
  bridge(caf::actor_config& cfg, std::chrono::milliseconds timeout);

  /// Runs each bridge_task it receives; sweeps at each tick.
  caf::behavior make_behavior() override;

  /// Keeps `respond` until `settle` takes it back or the request, which
  /// the handler took at `received`, times out.
  uint64_t track(responder respond,
                 caf::actor_clock::time_point received) {
    auto id = next_id_++;
    in_flight_.emplace(id, pending_request{std::move(respond),
                                           received + timeout_});
    if (!sweep_scheduled_) {
      sweep_scheduled_ = true;
      delayed_send(this, sweep_interval_, caf::tick_atom::value);
    }
    return id;
  }

  /// The responder of request `id`, unless it timed out already.
  std::optional<responder> settle(uint64_t id) {
    auto it = in_flight_.find(id);
    if (it == in_flight_.end())
      return std::nullopt;
    auto respond = std::move(it->second.respond);
    in_flight_.erase(it);
    return respond;
  }

private:
  struct pending_request {
    responder respond;
    caf::actor_clock::time_point deadline;
  };

  /// Answers 504 for the requests past their deadline, and sweeps again
  /// later while any is left. Inline: defined in api_bridge.cpp, and called
  /// only there, by the behavior.
  inline void sweep();

  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds sweep_interval_;
  std::unordered_map<uint64_t, pending_request> in_flight_;
  uint64_t next_id_ = 0;
  bool sweep_scheduled_ = false;
};

/// Answers with what `make_response` returns, or with a 500 when it throws:
/// the bridge serves every request, so an exception must not stop it.
template <class MakeResponse>
void respond_with(const responder& respond, MakeResponse make_response) {
  api_response response;
  try {
    response = make_response();
  } catch (const std::exception& ex) {
    log_error("http", std::string{"encoding an answer failed: "} + ex.what());
    response = error_response(500, "internal error");
  }
  respond(std::move(response));
}

template <class T, class ToResponse, class... Ts>
void api_handler::ask_router(responder respond, ToResponse to_response,
                             Ts... xs) {
  ask_router_from<T>(std::chrono::steady_clock::now(), std::move(respond),
                     std::move(to_response), std::move(xs)...);
}

template <class T, class ToResponse, class... Ts>
void api_handler::ask_router_from(
  std::chrono::steady_clock::time_point received, responder respond,
  ToResponse to_response, Ts... xs) {
  // A task runs once: its arguments move into the request rather than
  // being copied (a POST's carry every message).
  auto task = [router = router_, received, respond, to_response,
               args = std::make_tuple(std::move(xs)...)](bridge* self) mutable {
    auto id = self->track(respond, received);
    auto send = [&](auto&... arg) {
      return self->request(router, caf::infinite, std::move(arg)...);
    };
    std::apply(send, args)
      .then(
        [=](T& value) {
          if (auto settled = self->settle(id))
            respond_with(*settled, [&] { return to_response(value); });
        },
        [=](caf::error& err) {
          if (auto settled = self->settle(id))
            (*settled)(error_response(err));
        });
  };
  io_actors_.send(bridge_, caf::make_message(bridge_task{std::move(task)}));
}

} // namespace motorhead::http
