// Answers one request with the answers of many: each part is merged into
// the total as it arrives, and the promise is answered once every part came,
// or with the first error.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <caf/typed_response_promise.hpp>

namespace motorhead {

/// `Answer` is a response promise, or anything that takes deliver(T) and
/// deliver(caf::error) as one does.
template <class T, class Merge, class Answer = caf::typed_response_promise<T>>
class fan_in {
public:
  /// Waits for `parts` answers; with none, answers `total` at once.
  fan_in(Answer rp, std::size_t parts, Merge merge, T total = {})
    : state_(std::make_shared<state>(
        state{std::move(rp), parts, std::move(merge), std::move(total), false})) {
    if (parts == 0)
      finish();
  }

  void add(T part) {
    auto& st = *state_;
    if (st.done)
      return;
    st.merge(st.total, std::move(part));
    if (--st.waiting == 0)
      finish();
  }

  void fail(caf::error err) {
    auto& st = *state_;
    if (st.done)
      return;
    st.done = true;
    st.rp.deliver(std::move(err));
  }

  /// Answered already: every part came, or one failed.
  bool done() const { return state_->done; }

private:
  struct state {
    Answer rp;
    std::size_t waiting;
    Merge merge;
    T total;
    bool done;
  };

  void finish() {
    state_->done = true;
    state_->rp.deliver(std::move(state_->total));
  }

  std::shared_ptr<state> state_;
};

/// The parts of a fan-out: `items` grouped by `key(item)` (a string), in
/// the order of the keys.
template <class T, class Key>
std::vector<std::pair<std::string, std::vector<T>>>
group_by(std::vector<T> items, Key key) {
  std::map<std::string, std::vector<T>> groups;
  for (auto& item : items) {
    auto name = key(item);
    groups[name].push_back(std::move(item));
  }
  return {std::make_move_iterator(groups.begin()),
          std::make_move_iterator(groups.end())};
}

/// How many requests of one fan-out are in flight at once. CAF 0.17 keeps
/// an actor's pending responses in a flat map, from which each answer is
/// erased in O(pending): a thousand requests at once cost a million moves.
inline constexpr std::size_t requests_in_flight = 64;

/// Calls `send(i, done)` for i in [0, count), at most requests_in_flight
/// at a time: `send` makes a request and calls `done()` once it is
/// answered, either way, which sends the next; a `send` that makes no
/// request and calls nothing ends the window.
template <class Send>
void send_windowed(std::size_t count, Send send) {
  struct window {
    std::size_t next = 0;
    std::size_t count;
    Send send;
  };
  auto state = std::make_shared<window>(window{0, count, std::move(send)});
  // Starts the next request; each answer starts one more.
  auto start_next = std::make_shared<std::function<void()>>();
  *start_next = [state, weak = std::weak_ptr<std::function<void()>>(start_next)] {
    if (state->next == state->count)
      return;
    auto again = weak.lock();
    state->send(state->next++, [again] { (*again)(); });
  };
  for (std::size_t i = 0; i < requests_in_flight; ++i)
    (*start_next)();
}

template <class T, class Merge>
fan_in<T, Merge> make_fan_in(caf::typed_response_promise<T> rp,
                             std::size_t parts, Merge merge) {
  return fan_in<T, Merge>{std::move(rp), parts, std::move(merge)};
}

/// Answers `rp` with the answers of `count` requests merged, or with the
/// first error: `request(i)` makes the i-th and returns its response
/// handle; at most requests_in_flight are out at once. Once the answer is
/// decided no request starts, nor once `given_up()` says the requester
/// stopped waiting (the answer is then a timeout): a fan-out nobody waits
/// for costs no more work.
template <class T, class Merge, class Request, class GivenUp>
void gather(caf::typed_response_promise<T> rp, std::size_t count, Merge merge,
            Request request, GivenUp given_up) {
  auto answers = make_fan_in(std::move(rp), count, std::move(merge));
  send_windowed(count, [=](std::size_t i, auto done) mutable {
    if (answers.done())
      return;
    if (given_up()) {
      answers.fail(caf::make_error(caf::sec::request_timeout));
      return;
    }
    request(i).then(
      [answers, done](T& part) mutable {
        answers.add(std::move(part));
        done();
      },
      [answers, done](caf::error& err) mutable {
        answers.fail(std::move(err));
        done();
      });
  });
}

/// gather for a requester that waits as long as it takes.
template <class T, class Merge, class Request>
void gather(caf::typed_response_promise<T> rp, std::size_t count, Merge merge,
            Request request) {
  gather(std::move(rp), count, std::move(merge), std::move(request),
         [] { return false; });
}

} // namespace motorhead
