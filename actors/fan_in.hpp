// Answers one request with the answers of many: each part is merged into
// the total as it arrives, and the promise is answered once every part came,
// or with the first error.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include <caf/error.hpp>
#include <caf/typed_response_promise.hpp>

namespace motorhead {

template <class T, class Merge>
class fan_in {
public:
  /// Waits for `parts` answers; with none, answers `total` at once.
  fan_in(caf::typed_response_promise<T> rp, std::size_t parts, Merge merge,
         T total = {})
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

private:
  struct state {
    caf::typed_response_promise<T> rp;
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

template <class T, class Merge>
fan_in<T, Merge> make_fan_in(caf::typed_response_promise<T> rp,
                             std::size_t parts, Merge merge) {
  return fan_in<T, Merge>{std::move(rp), parts, std::move(merge)};
}

} // namespace motorhead
