#include "http/http_server.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <iterator>
#include <optional>
#include <unordered_set>
#include <vector>

#include <linux/filter.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/log.hpp"
#include "http/http_metrics.hpp"
#include "http/request_id.hpp"
#include "http/response_writer.hpp"

namespace motorhead::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// One thread runs the I/O loop, so connections need no strand; a concrete
// executor spares the type-erased one's copies on every operation.
using io_executor = asio::io_context::executor_type;
using client_socket = tcp::socket::rebind_executor<io_executor>::other;
using client_stream = beast::basic_stream<tcp, io_executor>;

namespace {

/// How long a kept-alive connection may wait for its next request.
constexpr auto idle_timeout = std::chrono::seconds{60};
/// How long a closing connection reads and discards what the client still
/// sends (as nginx's lingering_time).
constexpr auto lingering_time = std::chrono::seconds{5};
constexpr std::size_t discard_chunk = 16 * 1024;
constexpr std::size_t header_limit = 16 * 1024;
constexpr std::size_t max_header_fields = 100;
constexpr std::size_t first_read_size = 4096;
/// At shutdown, how long a connection that has not sent its first request
/// yet may take to send it: its client connected in order to send one.
constexpr auto first_request_grace = std::chrono::seconds{1};
/// At shutdown, how long the listener stays open once it takes no new
/// connection attempt: handshakes already under way complete meanwhile
/// (a round trip), and are accepted rather than reset by its closing.
constexpr auto handshake_grace = std::chrono::milliseconds{100};

struct connection_limits {
  std::size_t body_bytes;
  std::chrono::milliseconds read_timeout;
};

bool too_many_fields(const bhttp::request<bhttp::string_body>& request) {
  return static_cast<std::size_t>(
           std::distance(request.begin(), request.end()))
         > max_header_fields;
}

/// What the metrics and the log need of the request being answered.
struct request_record {
  std::string method;
  route_kind route = route_kind::not_found;
  std::string id;
  std::chrono::steady_clock::time_point started;
};

/// One line per request: debug when it succeeded, warn for a client's
/// error, error for the server's. Route templates only: a path may carry
/// anything a client put in it.
void log_request(const request_record& request, const api_response& answer,
                 double seconds) {
  auto level = answer.status >= 500   ? log_level::error
               : answer.status >= 400 ? log_level::warn
                                      : log_level::debug;
  if (!log_enabled(level))
    return;
  log_record(level, "http",
             answer.status >= 400 ? answer.error : "request answered",
             {text_field("request_id", request.id),
              text_field("method", request.method),
              text_field("route", std::string{route_template(request.route)}),
              number_field("status", uint64_t{answer.status}),
              number_field("duration_ms", seconds * 1000)});
}

class connection;

/// The connections serving requests (lingering ones no longer count), so
/// that a shutdown knows when every request in flight has its answer.
struct connection_tracker {
  std::unordered_set<connection*> serving;
  bool draining = false;
  std::function<void()> on_drained;

  void stopped_serving(connection* conn) {
    if (serving.erase(conn) > 0 && draining && serving.empty() && on_drained)
      on_drained();
  }
};

/// One client connection: read a request, hand it to the API, write the
/// answer when it comes, repeat while the client keeps the connection.
class connection : public std::enable_shared_from_this<connection> {
public:
  connection(client_socket socket, api_handler& api,
             std::shared_ptr<connection_tracker> tracker,
             const connection_limits& limits)
    : stream_(std::move(socket)), grace_(stream_.get_executor()), api_(api),
      tracker_(std::move(tracker)), limits_(limits) {
  }

  ~connection() { tracker_->stopped_serving(this); }

  void start() {
    tracker_->serving.insert(this);
    read_request();
  }

  io_executor executor() { return stream_.get_executor(); }

  /// The server shuts down: a connection waiting for a request closes now;
  /// one with a request under way answers it with `Connection: close`.
  void drain() {
    if (!waiting_for_request())
      return;
    if (requests_ > 0)
      return stream_.cancel(); // on_read then closes
    grace_.expires_after(first_request_grace);
    grace_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && self->waiting_for_request())
        self->stream_.cancel();
    });
  }

private:
  /// Waits up to the idle timeout for the next request to begin; from its
  /// first byte, the whole request must arrive within the read timeout, so
  /// a client trickling bytes (slowloris) cannot hold a connection.
  void read_request() {
    parser_.emplace();
    parser_->body_limit(limits_.body_bytes);
    parser_->header_limit(header_limit);
    reading_ = true;
    if (buffer_.size() > 0) // pipelined: the next request has begun
      return read_rest();
    stream_.expires_after(idle_timeout);
    stream_.async_read_some(
      buffer_.prepare(first_read_size),
      [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        if (ec)
          return self->on_read(ec);
        self->buffer_.commit(n);
        self->read_rest();
      });
  }

  void read_rest() {
    stream_.expires_after(limits_.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec,
                                                  std::size_t) {
                        self->on_read(ec);
                      });
  }

  /// Reading, and not a byte of the next request has arrived.
  bool waiting_for_request() {
    beast::error_code ec;
    return reading_ && !parser_->got_some() && buffer_.size() == 0
           && stream_.socket().available(ec) == 0 && !ec;
  }

  void on_read(beast::error_code ec) {
    reading_ = false;
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout
        || ec == asio::error::connection_reset || ec == asio::error::eof
        || ec == asio::error::operation_aborted)
      return close();
    note_request(parser_->get(), parser_->is_header_done());
    if (ec == bhttp::error::body_limit)
      return send(error_response(413, "the request body is larger than "
                                        + std::to_string(limits_.body_bytes)
                                        + " bytes"),
                  false);
    if (ec == bhttp::error::header_limit || too_many_fields(parser_->get()))
      return send(error_response(431, "the request header is larger than "
                                        + std::to_string(header_limit)
                                        + " bytes or has more than "
                                        + std::to_string(max_header_fields)
                                        + " fields"),
                  false);
    if (ec)
      return send(error_response(400, "malformed HTTP request: "
                                        + ec.message()),
                  false);
    auto request = parser_->release();
    ++requests_;
    keep_alive_ = request.keep_alive();
    version_ = request.version();
    api_request call{std::string{request.method_string()},
                     std::string{request.target()}, std::move(request.body()),
                     std::string{request[bhttp::field::authorization]},
                     std::string{request["x-metal-api-key"]},
                     std::string{request[bhttp::field::origin]}};
    stream_.expires_never(); // the actors have their own timeout
    // The answer is posted, so send() runs after the route is noted.
    record_.route = api_.handle(call, [self = shared_from_this()](
                                        api_response response) {
      auto executor = self->stream_.get_executor();
      asio::post(executor, [self, response = std::move(response)]() mutable {
        self->send(std::move(response), self->keep_alive_);
      });
    });
  }

  /// Starts the record of the request about to be answered; a request
  /// refused before its header was read has no method and no route.
  void note_request(const bhttp::request<bhttp::string_body>& request,
                    bool header_done) {
    record_.started = std::chrono::steady_clock::now();
    record_.method = header_done ? std::string{request.method_string()} : "";
    auto view = [](beast::string_view text) {
      return std::string_view{text.data(), text.size()};
    };
    record_.route = header_done ? route_of_target(view(request.target()))
                                : route_kind::not_found;
    record_.id = request_id_for(header_done ? view(request["X-Request-Id"])
                                            : std::string_view{});
  }

  void finish_record(const api_response& answer) {
    std::chrono::duration<double> took = std::chrono::steady_clock::now()
                                         - record_.started;
    global_http_metrics().record(record_.route, record_.method, answer.status,
                                 took.count());
    log_request(record_, answer, took.count());
  }

  void send(api_response answer, bool keep_alive) {
    finish_record(answer);
    keep_alive = keep_alive && !tracker_->draining;
    write_response(out_, answer, {version_, keep_alive, record_.id});
    stream_.expires_after(idle_timeout);
    asio::async_write(stream_, asio::buffer(out_),
                      [self = shared_from_this(), keep_alive](
                        beast::error_code ec, std::size_t) {
                        if (ec || !keep_alive)
                          return self->close();
                        self->read_request();
                      });
  }

  /// Stops sending, then reads and discards what the client still sends
  /// (the rest of a refused body) until it closes, for a bounded time.
  /// Closing with unread data would make the kernel answer with a reset,
  /// and a client still sending its body would see the reset, not the 413.
  void close() {
    tracker_->stopped_serving(this);
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(lingering_time);
    discard_until_closed();
  }

  void discard_until_closed() {
    stream_.async_read_some(
      buffer_.prepare(discard_chunk),
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (!ec)
          self->discard_until_closed();
      });
  }

  client_stream stream_;
  asio::steady_timer grace_; // a fresh connection's first request, at shutdown
  beast::flat_buffer buffer_;
  std::string out_; // the answer being sent; its capacity is kept
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  api_handler& api_;
  std::shared_ptr<connection_tracker> tracker_;
  connection_limits limits_;
  metrics::gauge_hold open_{global_http_metrics().open_connections};
  request_record record_;
  bool reading_ = false;
  uint64_t requests_ = 0;
  bool keep_alive_ = false;
  unsigned version_ = 11;
};

/// A connection whose last reference may go on any thread (an actor's
/// copy of its responder often is the last) but which is always destroyed
/// on the I/O thread: its destructor touches the tracker and the socket,
/// which belong to the I/O thread.
std::shared_ptr<connection>
make_connection(client_socket socket, api_handler& api,
                std::shared_ptr<connection_tracker> tracker,
                const connection_limits& limits) {
  auto* conn = new connection(std::move(socket), api, std::move(tracker),
                              limits);
  return std::shared_ptr<connection>(conn, [](connection* dying) {
    // Were the I/O loop gone, destroying the handler still deletes it.
    asio::post(dying->executor(),
               [owned = std::unique_ptr<connection>(dying)] {});
  });
}

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
