// Message handlers kept once for every actor of a kind, not once per actor.
//
// CAF 0.17 gives each actor a behavior of its own: a heap object holding
// every handler (about 40 bytes each, the lambda's captures included) and a
// table of them. A session actor has a dozen handlers and tens of thousands
// of sessions live at once: their behaviors alone would be a quarter of what
// a session costs. Instead each such actor runs an empty behavior shared by
// all of them, and CAF hands every message to the actor's default handler,
// which calls the first plain function of a list whose parameters (after
// the actor itself) match the message. The functions keep to the actor's
// typed interface: `interface_of` derives it from the list, and a
// static_assert next to the list compares the two.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include <caf/behavior.hpp>
#include <caf/detail/behavior_impl.hpp>
#include <caf/message.hpp>
#include <caf/message_view.hpp>
#include <caf/replies_to.hpp>
#include <caf/result.hpp>
#include <caf/sec.hpp>
#include <caf/type_erased_tuple.hpp>
#include <caf/typed_actor.hpp>

namespace motorhead::shared_behavior {

/// A behavior without handlers: every message goes to the default handler.
/// One instance for the whole process.
inline const caf::behavior& empty() {
  static const caf::behavior shared{
    caf::make_counted<caf::detail::behavior_impl>()};
  return shared;
}

namespace detail {

/// An atom parameter carries nothing beyond its type, which matched.
template <class T>
decltype(auto) element(caf::type_erased_tuple& xs, std::size_t pos) {
  if constexpr (std::is_empty_v<T>)
    return T{};
  else
    return xs.get_mutable_as<T>(pos);
}

template <class T>
caf::result<caf::message> as_message_result(caf::result<T>&& x) {
  caf::result<caf::message> out{caf::delegated<caf::message>{}};
  out.flag = x.flag;
  out.value = std::move(x.value);
  out.err = std::move(x.err);
  return out;
}

template <class T>
caf::result<caf::message> as_message_result(T&& x) {
  caf::result<caf::message> out{caf::delegated<caf::message>{}};
  out.flag = caf::rt_value;
  out.value = caf::make_message(std::forward<T>(x));
  return out;
}

template <class Self, class R, class... Args, std::size_t... Is>
caf::result<caf::message> call(R (*handler)(Self, Args...), Self self,
                               caf::type_erased_tuple& xs,
                               std::index_sequence<Is...>) {
  if constexpr (std::is_void_v<R>) {
    handler(self, element<std::decay_t<Args>>(xs, Is)...);
    return as_message_result(caf::message{});
  } else {
    return as_message_result(
      handler(self, element<std::decay_t<Args>>(xs, Is)...));
  }
}

/// Calls `handler` if the message matches its parameters: true if it did.
template <class Self, class R, class... Args>
bool try_handler(R (*handler)(Self, Args...), Self self,
                 caf::message_view& view, caf::result<caf::message>& out) {
  auto& xs = view.content();
  if (!xs.template match_elements<std::decay_t<Args>...>())
    return false;
  // As CAF does for handlers that take mutable references: a message
  // shared with another receiver is copied first.
  caf::message detached;
  auto shared = xs.shared();
  if (shared)
    detached = caf::message::copy(xs);
  out = call(handler, self, shared ? detached.content() : xs,
             std::index_sequence_for<Args...>{});
  return true;
}

template <class R>
struct reply_of {
  using type = R;
};

template <class T>
struct reply_of<caf::result<T>> {
  using type = T;
};

template <class Handler>
struct signature_of;

template <class Self, class R, class... Args>
struct signature_of<R (*)(Self, Args...)> {
  using type = caf::typed_mpi<caf::detail::type_list<std::decay_t<Args>...>,
                              caf::output_tuple<typename reply_of<R>::type>>;
};

template <class HandlerTuple>
struct interface_of;

template <class... Handlers>
struct interface_of<std::tuple<Handlers...>> {
  using type =
    caf::typed_actor<typename signature_of<Handlers>::type...>;
};

} // namespace detail

/// The typed actor whose interface a tuple of handlers implements, in
/// their order.
template <class HandlerTuple>
using interface_of =
  typename detail::interface_of<std::remove_cv_t<HandlerTuple>>::type;

/// Hands the message to the first of `handlers` (a tuple of function
/// pointers) that takes it; a message none takes is answered with an error.
template <class Self, class HandlerTuple>
caf::result<caf::message> dispatch(Self self, caf::message_view& view,
                                   const HandlerTuple& handlers) {
  caf::result<caf::message> out{caf::sec::unexpected_message};
  std::apply(
    [&](auto... handler) {
      (detail::try_handler(handler, self, view, out) || ...);
    },
    handlers);
  return out;
}

} // namespace motorhead::shared_behavior
