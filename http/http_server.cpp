// The HTTP server's listener: accepts connections up to
// MOTORHEAD_MAX_CONNECTIONS, making room by closing one waiting for a
// request or else refusing the new one, and runs the I/O loop.
#include "http/http_server.hpp"

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/buffer.hpp>

#include "core/log.hpp"
#include "core/text.hpp"
#include "http/http_metrics.hpp"
#include "http/http_server_impl.hpp"

namespace motorhead::http {

namespace {

/// MOTORHEAD_HOST is an address, or a name resolved once, at the start:
/// its first IPv4 address is bound, else its first ("localhost" is
/// 127.0.0.1, whatever order the resolver gives).
tcp::endpoint listen_endpoint(asio::io_context& io, const std::string& host,
                              uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (!ec)
    return {address, port};
  tcp::resolver resolver{io};
  auto found = resolver.resolve(host, std::to_string(port),
                                tcp::resolver::passive);
  if (found.empty())
    throw boost::system::system_error{asio::error::host_not_found};
  for (const auto& entry : found)
    if (entry.endpoint().address().is_v4())
      return entry.endpoint();
  return found.begin()->endpoint();
}

} // namespace

http_server::impl::impl(asio::io_context& io, api_handler& api,
                        const settings& cfg)
  : io(io), api(api), acceptor(io), signals(io, SIGINT, SIGTERM),
    limits{cfg.max_body_bytes, cfg.read_timeout, cfg.first_byte_timeout},
    max_connections(cfg.max_connections),
    max_refusing(std::max<std::size_t>(16, cfg.max_connections / 8)),
    shutdown_timeout(cfg.shutdown_timeout),
    tracker(std::make_shared<connection_tracker>(cfg.log_client_errors)) {
  auto address = host_port(cfg.host, cfg.port);
  try {
    auto endpoint = listen_endpoint(io, cfg.host, cfg.port);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& err) {
    throw std::runtime_error("cannot listen on " + address
                             + " (MOTORHEAD_HOST and PORT): "
                             + err.code().message());
  }
}

http_server::impl::~impl() { tracker->on_drained = nullptr; }

void http_server::impl::start_connection(client_socket socket) {
  auto conn = make_connection(std::move(socket), api, tracker, limits);
  conn->start();
  if (tracker->draining)
    conn->drain();
}

void http_server::impl::accept() {
  acceptor.async_accept(io.get_executor(),
                        [this](beast::error_code ec, client_socket socket) {
                          on_accept(ec, std::move(socket));
                        });
}

void http_server::impl::on_accept(beast::error_code ec, client_socket socket) {
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
  if (tracker->serving.size() >= max_connections && !make_room())
    return refuse(std::move(socket));
  start_connection(std::move(socket));
  accept();
}

bool http_server::impl::make_room() {
  // A client that has sent nothing goes first, then the one whose request
  // has taken longest to arrive: a client that trickles bytes, or sends a
  // byte and stops, holds no place a working client needs.
  for (bool only_silent : {true, false})
    for (auto* waiting : tracker->waiting)
      if (waiting->close_for_room(only_silent))
        return true;
  return false;
}

void http_server::impl::refuse(client_socket socket) {
  accept();
  global_http_metrics().refused_connections.add();
  if (refused_connections++ % 1000 == 0)
    log_warn("http", std::to_string(max_connections)
                       + " connections open; refusing new ones ("
                       + std::to_string(refused_connections) + " so far)");
  if (tracker->refusing < max_refusing)
    return make_connection(std::move(socket), api, tracker, limits)->refuse();
  // Too many to read even their requests: the answer at once.
  static const std::string answer = [] {
    auto body = too_many_connections().body;
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
