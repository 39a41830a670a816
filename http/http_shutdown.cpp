// The HTTP server's graceful shutdown: at SIGINT or SIGTERM it takes no new
// connection, closes idle ones and lets the others answer the request under
// way, until none is left or the shutdown timeout.
#include "http/http_server_impl.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <linux/filter.h>
#include <sys/socket.h>

#include <boost/asio/post.hpp>

#include "core/log.hpp"

namespace motorhead::http {

namespace {

/// At shutdown, how long the listener stays open once it takes no new
/// connection attempt: handshakes already under way complete meanwhile
/// (a round trip), and are accepted rather than reset by its closing.
constexpr auto handshake_grace = std::chrono::milliseconds{100};

/// Has the kernel drop the connection attempts (SYN segments) that reach
/// `acceptor` from now on, so that no handshake begins that could complete
/// after the last accept and be reset when the listener closes. A client
/// retries its SYN after a second and is refused then. Returns why not, or
/// "".
std::string stop_new_handshakes(tcp::acceptor& acceptor) {
  // A TCP socket's filter sees each segment from its TCP header on; byte
  // 13 holds the flags, 0x02 SYN.
  static sock_filter drop_syn[] = {
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x02, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0),
    BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
  };
  sock_fprog program{static_cast<unsigned short>(std::size(drop_syn)),
                     drop_syn};
  if (setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_ATTACH_FILTER,
                 &program, sizeof program)
      == 0)
    return {};
  // Some kernels let only CAP_NET_ADMIN attach a socket filter (seen on
  // 6.18, also outside any container; not the runtime's seccomp profile).
  if (errno == EPERM)
    return std::string{std::strerror(errno)}
           + ": this kernel lets only CAP_NET_ADMIN attach a socket filter; "
             "in a container, add the capability NET_ADMIN";
  return std::strerror(errno);
}

} // namespace

void http_server::impl::begin_shutdown(int signal) {
  outcome.deadline = std::chrono::steady_clock::now() + shutdown_timeout;
  if (auto err = stop_new_handshakes(acceptor); !err.empty())
    log_warn("http", "cannot stop new handshakes before closing the "
                     "listener (" + err + "): a client connecting just "
                     "then may be reset");
  tracker->draining = true;
  log_info("http", "signal " + std::to_string(signal) + ", draining "
                     + std::to_string(tracker->serving.size())
                     + " connections (up to "
                     + std::to_string(shutdown_timeout.count()) + " ms)");
  tracker->on_drained = [this] {
    if (!acceptor.is_open())
      finish(true);
  };
  std::vector<std::weak_ptr<connection>> serving;
  for (auto* conn : tracker->serving)
    serving.push_back(conn->weak_from_this());
  for (auto& conn : serving)
    if (auto alive = conn.lock())
      asio::post(alive->executor(), [alive] { alive->drain(); });
  listener_grace.expires_after(handshake_grace);
  listener_grace.async_wait([this](beast::error_code ec) {
    if (!ec)
      close_listener();
  });
  shutdown_deadline.expires_at(outcome.deadline);
  shutdown_deadline.async_wait([this](beast::error_code ec) {
    if (!ec)
      finish(false);
  });
  signals.async_wait([this](beast::error_code ec, int) {
    if (!ec)
      finish(false);
  });
}

void http_server::impl::close_listener() {
  accept_backlog();
  beast::error_code ignored;
  acceptor.close(ignored);
  accept_retry.cancel();
  if (tracker->serving.empty())
    finish(true);
}

void http_server::impl::accept_backlog() {
  beast::error_code ec;
  acceptor.non_blocking(true, ec);
  while (!ec) {
    client_socket socket{io.get_executor()};
    acceptor.accept(socket, ec);
    if (!ec)
      start_connection(std::move(socket));
  }
}

void http_server::impl::finish(bool drained) {
  if (finished)
    return;
  finished = true;
  outcome.drained = drained;
  if (!drained)
    log_error("http", "shutdown timeout: "
                        + std::to_string(tracker->serving.size())
                        + " connections still had a request in flight");
  shutdown_deadline.cancel();
  listener_grace.cancel();
  signals.cancel();
  io.stop();
}

} // namespace motorhead::http
