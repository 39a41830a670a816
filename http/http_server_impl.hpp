// The state of the HTTP server behind http_server: the listener and its
// connection limits, the connections' tracker, the signals and the
// shutdown's timers. Private to the server (http/http_*.cpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>

#include "config/settings.hpp"
#include "http/api_handler.hpp"
#include "http/http_connection.hpp"
#include "http/http_server.hpp"

namespace motorhead::http {

struct http_server::impl {
  /// Opens the listener on cfg.host and cfg.port.
  impl(asio::io_context& io, api_handler& api, const settings& cfg);

  ~impl();

  // -- shutdown (http_shutdown.cpp) -------------------------------------------

  /// The first SIGINT or SIGTERM: take no new connection, close idle
  /// connections, let the others answer their request in flight; done when
  /// none is left and the listener is closed, or at the shutdown timeout,
  /// or at a second signal.
  void begin_shutdown(int signal);

  /// Once the handshakes under way at the signal are complete: takes in
  /// the last connections and closes the listener.
  void close_listener();

  /// Takes in the connections the kernel has completed but the server has
  /// not accepted yet: closing the acceptor would reset them.
  void accept_backlog();

  /// Ends the serving, once: stops the shutdown's timers, the signals and
  /// the I/O loop; `drained` says whether every request had its answer.
  void finish(bool drained);

  // -- listener (http_server.cpp) ---------------------------------------------

  /// Serves a connection; during a shutdown, one that has no request
  /// under way yet gets a short grace to send it.
  void start_connection(client_socket socket);

  /// Accepts the next connection.
  void accept();

  /// Only a closed acceptor ends the loop. Other errors (EMFILE and ENFILE
  /// when out of descriptors, ECONNABORTED) pass: accepting again a little
  /// later gives connections that close meanwhile time to free descriptors.
  void on_accept(beast::error_code ec, client_socket socket);

  /// At MOTORHEAD_MAX_CONNECTIONS: closes the connection waiting longest
  /// for a request that has not begun (a client that connected and sent
  /// nothing, or one kept alive between requests), else the one waiting
  /// longest for the rest of its request; false when every one is working
  /// (its request is with the actors, or its answer being written).
  bool make_room();

  /// Over MOTORHEAD_MAX_CONNECTIONS with every connection working: reads
  /// the request, then a 503 and a close; beyond `max_refusing` of those at
  /// once, the 503 is written at once.
  void refuse(client_socket socket);

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
  std::size_t max_refusing;
  std::chrono::milliseconds shutdown_timeout;
  asio::steady_timer shutdown_deadline{io};
  asio::steady_timer listener_grace{io};
  std::shared_ptr<connection_tracker> tracker;
  bool finished = false;
  serve_outcome outcome;
};

} // namespace motorhead::http
