#include "http/http_server.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <memory>
#include <vector>

#include <linux/filter.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/log.hpp"
#include "http/http_connection.hpp"
#include "http/http_metrics.hpp"

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
      != 0)
    return std::strerror(errno);
  return {};
}

} // namespace

struct http_server::impl {
  impl(asio::io_context& io, api_handler& api, const settings& cfg)
    : io(io), api(api), acceptor(io), signals(io, SIGINT, SIGTERM),
      limits{cfg.max_body_bytes, cfg.read_timeout},
      max_connections(cfg.max_connections),
      shutdown_timeout(cfg.shutdown_timeout) {
    tcp::endpoint endpoint{asio::ip::make_address(cfg.host), cfg.port};
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
  }

  ~impl() { tracker->on_drained = nullptr; }

  /// The first SIGINT or SIGTERM: take no new connection, close idle
  /// connections, let the others answer their request in flight; done when
  /// none is left and the listener is closed, or at the shutdown timeout,
  /// or at a second signal.
  void begin_shutdown(int signal) {
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

  /// Once the handshakes under way at the signal are complete: takes in
  /// the last connections and closes the listener.
  void close_listener() {
    accept_backlog();
    beast::error_code ignored;
    acceptor.close(ignored);
    accept_retry.cancel();
    if (tracker->serving.empty())
      finish(true);
  }

  /// Takes in the connections the kernel has completed but the server has
  /// not accepted yet: closing the acceptor would reset them.
  void accept_backlog() {
    beast::error_code ec;
    acceptor.non_blocking(true, ec);
    while (!ec) {
      client_socket socket{io.get_executor()};
      acceptor.accept(socket, ec);
      if (!ec)
        start_connection(std::move(socket));
    }
  }

  /// Serves a connection; during a shutdown, one that has no request
  /// under way yet gets a short grace to send it.
  void start_connection(client_socket socket) {
    auto conn = make_connection(std::move(socket), api, tracker, limits);
    conn->start();
    if (tracker->draining)
      conn->drain();
  }

  void finish(bool drained) {
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

  void accept() {
    acceptor.async_accept(io.get_executor(),
                          [this](beast::error_code ec, client_socket socket) {
                            on_accept(ec, std::move(socket));
                          });
  }

  /// Only a closed acceptor ends the loop. Other errors (EMFILE and ENFILE
  /// when out of descriptors, ECONNABORTED) pass: accepting again a little
  /// later gives connections that close meanwhile time to free descriptors.
  void on_accept(beast::error_code ec, client_socket socket) {
    if (ec == asio::error::operation_aborted)
      return;
    if (ec) {
      if (failed_accepts++ == 0)
        log_error("http", "accept failed: " + ec.message() + "; retrying every "
                            + std::to_string(accept_retry_delay.count())
                            + " ms");
      accept_retry.expires_after(accept_retry_delay);
      accept_retry.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec)
          accept();
      });
      return;
    }
    if (failed_accepts > 0) {
      log_info("http", "accepting again after "
                         + std::to_string(failed_accepts) + " failed attempts");
      failed_accepts = 0;
    }
    if (tracker->serving.size() >= max_connections)
      return refuse(std::move(socket));
    start_connection(std::move(socket));
    accept();
  }

  /// Over MOTORHEAD_MAX_CONNECTIONS: a short 503 and a close, at once.
  void refuse(client_socket socket) {
    accept();
    global_http_metrics().refused_connections.add();
    if (refused_connections++ % 1000 == 0)
      log_warn("http", std::to_string(max_connections)
                         + " connections open; refusing new ones ("
                         + std::to_string(refused_connections) + " so far)");
    static const std::string answer = [] {
      auto body = error_response(503, "too many connections; retry later").body;
      return "HTTP/1.1 503 Service Unavailable\r\nServer: motorhead\r\n"
             "Content-Type: application/json\r\nConnection: close\r\n"
             "Retry-After: 1\r\nContent-Length: "
             + std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    beast::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(answer), ignored);
    socket.shutdown(client_socket::shutdown_both, ignored);
  }

  static constexpr std::chrono::milliseconds accept_retry_delay{50};

  asio::io_context& io;
  api_handler& api;
  tcp::acceptor acceptor;
  asio::steady_timer accept_retry{io};
  uint64_t failed_accepts = 0;
  uint64_t refused_connections = 0;
  asio::signal_set signals;
  connection_limits limits;
  std::size_t max_connections;
  std::chrono::milliseconds shutdown_timeout;
  asio::steady_timer shutdown_deadline{io};
  asio::steady_timer listener_grace{io};
  std::shared_ptr<connection_tracker> tracker
    = std::make_shared<connection_tracker>();
  bool finished = false;
  serve_outcome outcome;
};

http_server::http_server(asio::io_context& io, api_handler& api,
                         const settings& cfg)
  : impl_(std::make_unique<impl>(io, api, cfg)) {
}

http_server::~http_server() = default;

uint16_t http_server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

serve_outcome http_server::run() {
  impl_->signals.async_wait([this](beast::error_code ec, int signal) {
    if (!ec)
      impl_->begin_shutdown(signal);
  });
  impl_->accept();
  // A handler that throws leaves run(); log it and serve on (Asio allows
  // calling run() again without a restart).
  for (;;) {
    try {
      impl_->io.run();
      impl_->api.io_stopped();
      return impl_->outcome;
    } catch (const std::exception& ex) {
      log_error("http", std::string{"an I/O handler failed: "} + ex.what());
    }
  }
}

} // namespace motorhead::http
