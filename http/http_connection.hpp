// One client connection of the HTTP server: reads requests, hands them to
// the API, writes the answers, keeps the connection alive or closes it.
// Private to the server (http/http_*.cpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/metrics.hpp"
#include "http/api_handler.hpp"
#include "http/api_message.hpp"
#include "http/http_metrics.hpp"
#include "http/request_log.hpp"
#include "http/routes.hpp"

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

/// What a connection allows a request: the size of its body, the time
/// from its first byte to its last, and the time a new connection may take
/// to send its first byte.
struct connection_limits {
  std::size_t body_bytes;
  std::chrono::milliseconds read_timeout;
  std::chrono::milliseconds first_byte_timeout;
};

class connection;

/// The connections serving requests (lingering ones no longer count), so
/// that a shutdown knows when every request in flight has its answer, and
/// so that a full server finds the one waiting longest for a request.
struct connection_tracker {
  explicit connection_tracker(log_level client_errors)
    : requests(client_errors) {}

  std::unordered_set<connection*> serving;
  /// Those whose request has not arrived whole (none of it yet, on a new
  /// connection or a kept-alive one, or a part), longest waiting first.
  std::list<connection*> waiting;
  /// Connections over the limit whose request is being read, to be
  /// answered 503 (see connection::refuse).
  std::size_t refusing = 0;
  bool draining = false;
  std::function<void()> on_drained;
  request_log requests;

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

  ~connection() {
    unlist_waiting();
    if (refusing_)
      --tracker_->refusing;
    tracker_->stopped_serving(this);
  }

  /// Counts the connection as serving and reads its first request.
  void start() {
    tracker_->serving.insert(this);
    read_request();
  }

  /// For a connection over the limit: reads its request, then answers 503
  /// and closes. The client, which may be sending its request already,
  /// reads the answer rather than a reset.
  void refuse() {
    refusing_ = true;
    ++tracker_->refusing;
    read_request();
  }

  /// Closes a connection whose request has not arrived whole and that has
  /// no byte waiting to be read, to make room for a new one; with
  /// `only_silent`, only one that has sent none of it. A connection that
  /// began waiting a moment ago is not closed: its client is sending. False
  /// when it may not be closed.
  bool close_for_room(bool only_silent);

  io_executor executor() { return stream_.get_executor(); }

  /// The server shuts down: a connection waiting for a request closes now;
  /// one with a request under way answers it with `Connection: close`.
  void drain();

private:
  // The functions declared inline are defined in http_connection.cpp with
  // the others and called only there, where they may inline into their
  // callers as when the class was private to one file.

  /// Waits up to the idle timeout for the next request to begin; from its
  /// first byte, the whole request must arrive within the read timeout, so
  /// a client trickling bytes (slowloris) cannot hold a connection.
  void read_request();

  void read_rest();

  /// Parses what the buffer holds; true when that was a whole request (or
  /// a malformed one), now handed to on_read.
  inline bool parse_buffered();

  /// Reading, and not a byte of the next request has arrived.
  inline bool waiting_for_request();

  /// Lists the connection as waiting for its request, or takes it off.
  inline void list_waiting();
  void unlist_waiting();

  void on_read(beast::error_code ec);

  /// Starts the record of the request about to be answered; a request
  /// refused before its header was read has no method and no route. The
  /// route of a request the handler takes is the handler's to name
  /// (`answered_here` false): parsing the target twice cost a GET 6 %.
  inline void note_request(const bhttp::request<bhttp::string_body>& request,
                           bool header_done, bool answered_here);

  inline void finish_record(const api_response& answer);

  void send(api_response answer, bool keep_alive);

  /// Stops sending, then reads and discards what the client still sends
  /// (the rest of a refused body) until it closes, for a bounded time.
  /// Closing with unread data would make the kernel answer with a reset,
  /// and a client still sending its body would see the reset, not the 413.
  inline void close();

  void discard_until_closed();

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
  std::list<connection*>::iterator waiting_position_;
  std::chrono::steady_clock::time_point waiting_since_;
  bool waiting_ = false; // in the tracker's waiting list
  bool evicted_ = false; // closed to make room: serves nothing more
  bool refusing_ = false;
  bool reading_ = false;
  uint64_t requests_ = 0;
  bool keep_alive_ = false;
  unsigned version_ = 11;
};

/// The answer to a connection over MOTORHEAD_MAX_CONNECTIONS.
api_response too_many_connections();

/// A connection whose last reference may go on any thread (an actor's
/// copy of its responder often is the last) but which is always destroyed
/// on the I/O thread: its destructor touches the tracker and the socket,
/// which belong to the I/O thread.
std::shared_ptr<connection>
make_connection(client_socket socket, api_handler& api,
                std::shared_ptr<connection_tracker> tracker,
                const connection_limits& limits);

} // namespace motorhead::http
