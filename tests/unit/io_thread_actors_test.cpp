// Actors run on the I/O thread by io_thread_actors, in a real actor system
// with one scheduler worker: where each actor of a chain runs, when a round
// hands the rest to the workers, and what becomes of the actors still ready
// when the I/O loop stops.
#include "http/io_thread_actors.hpp"

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <caf/all.hpp>
#include <gtest/gtest.h>

using namespace motorhead;
using namespace std::chrono_literals;

namespace {

/// Where the two actors of a chain ran.
struct chain_threads {
  std::promise<std::thread::id> first;
  std::promise<std::thread::id> second;
};

/// The second actor of a chain: records its thread.
caf::behavior second_link(caf::event_based_actor*,
                          std::shared_ptr<chain_threads> threads) {
  return {
    [threads](int) { threads->second.set_value(std::this_thread::get_id()); },
  };
}

/// The first actor of a chain: records its thread, works for `work`, then
/// wakes the second.
caf::behavior first_link(caf::event_based_actor* self,
                         std::shared_ptr<chain_threads> threads,
                         caf::actor second, std::chrono::microseconds work) {
  return {
    [=](int x) {
      threads->first.set_value(std::this_thread::get_id());
      auto until = std::chrono::steady_clock::now() + work;
      while (std::chrono::steady_clock::now() < until) {
        // busy, as an actor scoring a thousand messages would be
      }
      self->send(second, x);
    },
  };
}

class IoThreadActorsTest : public ::testing::Test {
protected:
  /// Rounds of `round_budget`: the test that needs a round to end sets a
  /// short one; the others a budget no preemption of a busy machine uses
  /// up.
  explicit IoThreadActorsTest(std::chrono::microseconds round_budget = 10s)
    : system_(configured(config_)), actors_(system_, io_, round_budget),
      threads_(std::make_shared<chain_threads>()) {
  }

  ~IoThreadActorsTest() override {
    work_.reset();
    if (io_thread_.joinable())
      io_thread_.join();
  }

  /// One scheduler worker, as the server has on two cores.
  static caf::actor_system_config& configured(caf::actor_system_config& cfg) {
    cfg.set("scheduler.max-threads", 1);
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    return cfg;
  }

  /// Spawns the chain; its first actor works for `work` when it runs. The
  /// actors start with their first message, where it runs them: spawned
  /// otherwise, a worker would start them and could still be busy with
  /// one when its message comes, and then run it there.
  caf::actor spawn_chain(std::chrono::microseconds work) {
    auto second = system_.spawn<caf::lazy_init>(second_link, threads_);
    return system_.spawn<caf::lazy_init>(first_link, threads_, second, work);
  }

  std::thread::id start_io_thread() {
    io_thread_ = std::thread{[this] { io_.run(); }};
    return io_thread_.get_id();
  }

  /// The thread `promise` names, or a default id after two seconds.
  static std::thread::id wait_for(std::promise<std::thread::id>& promise) {
    auto future = promise.get_future();
    if (future.wait_for(2s) != std::future_status::ready)
      return {};
    return future.get();
  }

  boost::asio::io_context io_;
  caf::actor_system_config config_;
  caf::actor_system system_;
  http::io_thread_actors actors_;
  std::shared_ptr<chain_threads> threads_;
  std::optional<boost::asio::executor_work_guard<
    boost::asio::io_context::executor_type>>
    work_{io_.get_executor()};
  std::thread io_thread_;
};

TEST_F(IoThreadActorsTest, a_chain_the_io_thread_starts_runs_on_it) {
  auto first = spawn_chain(0us);
  auto io_thread = start_io_thread();
  boost::asio::post(io_, [&] { actors_.send(first, caf::make_message(1)); });
  EXPECT_EQ(wait_for(threads_->first), io_thread);
  EXPECT_EQ(wait_for(threads_->second), io_thread);
}

class IoThreadActorsShortRoundTest : public IoThreadActorsTest {
protected:
  static constexpr std::chrono::microseconds round_budget = 500us;

  IoThreadActorsShortRoundTest() : IoThreadActorsTest(round_budget) {
  }
};

TEST_F(IoThreadActorsShortRoundTest,
       actors_woken_after_the_round_budget_run_on_a_worker) {
  auto first = spawn_chain(2 * round_budget);
  auto io_thread = start_io_thread();
  boost::asio::post(io_, [&] { actors_.send(first, caf::make_message(1)); });
  EXPECT_EQ(wait_for(threads_->first), io_thread);
  auto second = wait_for(threads_->second);
  EXPECT_NE(second, std::thread::id{}) << "the second actor never ran";
  EXPECT_NE(second, io_thread);
}

TEST_F(IoThreadActorsTest, actors_ready_when_the_loop_stops_run_on_a_worker) {
  auto first = spawn_chain(0us);
  boost::asio::post(io_, [&] {
    actors_.send(first, caf::make_message(1));
    io_.stop(); // before the actors' round runs
  });
  io_.run();
  actors_.hand_over();
  auto ran_on = wait_for(threads_->first);
  EXPECT_NE(ran_on, std::thread::id{}) << "the actor never ran";
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_NE(wait_for(threads_->second), std::thread::id{});
}

} // namespace
