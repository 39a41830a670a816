#include "http/io_thread_actors.hpp"

#include <chrono>

#include <boost/asio/post.hpp>
#include <caf/abstract_actor.hpp>
#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

namespace motorhead::http {

io_thread_actors::io_thread_actors(caf::actor_system& system,
                                   boost::asio::io_context& io,
                                   std::chrono::microseconds round_budget)
  : caf::execution_unit(&system), io_(io), round_budget_(round_budget) {
}

io_thread_actors::~io_thread_actors() {
  hand_over();
}

void io_thread_actors::send(const caf::actor& dest, caf::message msg) {
  auto* receiver = caf::actor_cast<caf::abstract_actor*>(dest);
  receiver->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(),
                                              {}, std::move(msg)),
                    this);
}

void io_thread_actors::exec_later(caf::resumable* job) {
  ready_.push_back(job);
  if (run_posted_)
    return;
  run_posted_ = true;
  boost::asio::post(io_, [this] { run_ready(); });
}

/// Runs the ready actors, and those they wake, until none is ready: a
/// request's chain of actors (bridge, router, session, bridge) completes in
/// one round instead of waiting behind the I/O handlers at each step. A
/// round that has run for its budget (500 µs by default) hands the actors
/// still ready to the scheduler's workers, so that a burst (a namespace
/// search waking a thousand sessions) does not hold up the connections.
/// The reference counting follows CAF's scheduler workers: a scheduled job
/// holds one reference, released once it waits for messages or is done.
void io_thread_actors::run_ready() {
  auto max_throughput = system().scheduler().max_throughput();
  auto deadline = std::chrono::steady_clock::now() + round_budget_;
  while (!ready_.empty()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      hand_over();
      break;
    }
    running_.swap(ready_);
    for (auto* job : running_)
      resume(job, max_throughput);
    running_.clear();
  }
  run_posted_ = false;
}

void io_thread_actors::resume(caf::resumable* job, std::size_t max_throughput) {
  switch (job->resume(this, max_throughput)) {
    case caf::resumable::resume_later:
      ready_.push_back(job);
      break;
    case caf::resumable::done:
    case caf::resumable::awaiting_message:
      intrusive_ptr_release(job);
      break;
    case caf::resumable::shutdown_execution_unit:
      // Only the scheduler's own shutdown jobs return this.
      break;
  }
}

void io_thread_actors::hand_over() {
  auto& scheduler = system().scheduler();
  for (auto* job : ready_)
    scheduler.enqueue(job);
  ready_.clear();
}

} // namespace motorhead::http
