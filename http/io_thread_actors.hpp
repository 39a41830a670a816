// Runs the actors that serve a request on the HTTP I/O thread itself.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <caf/execution_unit.hpp>
#include <caf/fwd.hpp>

namespace motorhead::http {

/// An execution unit on the I/O thread. A message the I/O thread sends
/// through it to an idle actor runs that actor on the I/O thread, and so
/// does every message that actor sends to another idle actor: the bridge,
/// the router and the session that answer a GET run one after the other
/// on the thread that read the request and writes the answer, without
/// waking a scheduler worker and waiting for it twice. Actors woken from
/// elsewhere (a Redis reply, a timer) run on the scheduler's workers as
/// before, and an actor busy on a worker takes the message in its mailbox
/// there.
///
/// Only the I/O thread may call `send` and `exec_later` (an actor running
/// on this unit sends through it).
class io_thread_actors final : public caf::execution_unit {
public:
  /// How long one round of actors may hold the I/O thread by default.
  static constexpr std::chrono::microseconds default_round_budget{500};

  io_thread_actors(caf::actor_system& system, boost::asio::io_context& io,
                   std::chrono::microseconds round_budget
                   = default_round_budget);
  /// Hands the actors still waiting to run to the scheduler.
  ~io_thread_actors() override;

  io_thread_actors(const io_thread_actors&) = delete;
  io_thread_actors& operator=(const io_thread_actors&) = delete;

  /// Sends `msg` to `dest` as an anonymous message from the I/O thread.
  void send(const caf::actor& dest, caf::message msg);

  /// Schedules `job` to run on the I/O thread after the handlers already
  /// queued there.
  void exec_later(caf::resumable* job) override;

  /// Hands the actors still waiting to run to the scheduler: called when
  /// the I/O loop has stopped and will not run them.
  void hand_over();

private:
  void run_ready();
  void resume(caf::resumable* job, std::size_t max_throughput);

  boost::asio::io_context& io_;
  std::chrono::microseconds round_budget_;
  std::vector<caf::resumable*> ready_;
  std::vector<caf::resumable*> running_;
  bool run_posted_ = false;
};

} // namespace motorhead::http
