// One client connection of the HTTP server: reads requests, hands them to
// the API, writes the answers, keeps the connection alive or closes it.
#include "http/http_connection.hpp"

#include <chrono>
#include <cstddef>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "core/log.hpp"
#include "http/request_id.hpp"
#include "http/response_writer.hpp"

namespace motorhead::http {

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
/// How long a connection must have waited for its request before a full
/// server may close it to make room: a client that connected a moment ago
/// has its request on the way.
constexpr auto least_wait_before_closing = std::chrono::milliseconds{100};
/// At shutdown, how long a connection that has not sent its first request
/// yet may take to send it: its client connected in order to send one.
constexpr auto first_request_grace = std::chrono::seconds{1};

bool too_many_fields(const bhttp::request<bhttp::string_body>& request) {
  return static_cast<std::size_t>(
           std::distance(request.begin(), request.end()))
         > max_header_fields;
}

} // namespace

void connection::drain() {
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

void connection::read_request() {
  parser_.emplace();
  parser_->body_limit(limits_.body_bytes);
  parser_->header_limit(header_limit);
  reading_ = true;
  if (buffer_.size() > 0) // pipelined: the next request has begun
    return read_rest();
  // A client connects to send a request: one that sends nothing is cut
  // soon. Between requests, a kept-alive connection may wait longer. The
  // connection is listed as waiting until its request has arrived whole:
  // a full server may close it to make room (see close_for_room).
  stream_.expires_after(requests_ == 0 ? limits_.first_byte_timeout
                                       : idle_timeout);
  list_waiting();
  stream_.async_read_some(
    buffer_.prepare(first_read_size),
    [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec)
        return self->on_read(ec);
      self->buffer_.commit(n);
      self->read_rest();
    });
}

void connection::list_waiting() {
  if (waiting_ || refusing_)
    return;
  auto& waiting = tracker_->waiting;
  waiting_position_ = waiting.insert(waiting.end(), this);
  waiting_since_ = std::chrono::steady_clock::now();
  waiting_ = true;
}

void connection::unlist_waiting() {
  if (waiting_)
    tracker_->waiting.erase(waiting_position_);
  waiting_ = false;
}

bool connection::close_for_room(bool only_silent) {
  // Bytes the socket holds unread are a request arriving now (maybe whole):
  // such a client is working, not stalling.
  beast::error_code ec;
  if (evicted_ || stream_.socket().available(ec) > 0 || ec
      || std::chrono::steady_clock::now() - waiting_since_
           < least_wait_before_closing)
    return false;
  if (only_silent && !waiting_for_request())
    return false;
  evicted_ = true;
  unlist_waiting();
  // It no longer counts at once. Its read, cancelled, closes it; one that
  // completed meanwhile closes it too (see on_read).
  tracker_->stopped_serving(this);
  stream_.cancel();
  return true;
}

bool connection::parse_buffered() {
  beast::error_code ec;
  while (!parser_->is_done() && buffer_.size() > 0) {
    auto used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == bhttp::error::need_more)
      return false;
    if (ec || used == 0)
      break;
  }
  if (!ec && !parser_->is_done())
    return false;
  on_read(ec);
  return true;
}

void connection::read_rest() {
  // Most requests arrive whole with their first read: parsed here, they
  // need no asynchronous read (its operation, its timer, and a trip
  // through the I/O loop to complete on bytes already read).
  if (parse_buffered())
    return;
  stream_.expires_after(limits_.read_timeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code ec,
                                                std::size_t) {
                      self->on_read(ec);
                    });
}

bool connection::waiting_for_request() {
  beast::error_code ec;
  return reading_ && !parser_->got_some() && buffer_.size() == 0
         && stream_.socket().available(ec) == 0 && !ec;
}

void connection::on_read(beast::error_code ec) {
  reading_ = false;
  unlist_waiting();
  if (evicted_)
    return close();
  if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout
      || ec == asio::error::connection_reset || ec == asio::error::eof
      || ec == asio::error::operation_aborted)
    return close();
  note_request(parser_->get(), parser_->is_header_done(), refusing_ || ec);
  if (refusing_)
    return send(too_many_connections(), false);
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
                   std::string{request[bhttp::field::origin]},
                   std::string{request[bhttp::field::content_type]}};
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

void connection::note_request(const bhttp::request<bhttp::string_body>& request,
                              bool header_done, bool answered_here) {
  record_.started = std::chrono::steady_clock::now();
  record_.method = header_done ? std::string{request.method_string()} : "";
  auto view = [](beast::string_view text) {
    return std::string_view{text.data(), text.size()};
  };
  record_.route = header_done && answered_here
                    ? route_of_target(view(request.target()))
                    : route_kind::not_found;
  record_.id = request_id_for(header_done ? view(request["X-Request-Id"])
                                          : std::string_view{});
}

void connection::finish_record(const api_response& answer) {
  std::chrono::duration<double> took = std::chrono::steady_clock::now()
                                       - record_.started;
  global_http_metrics().record(record_.route, record_.method, answer.status,
                               took.count());
  tracker_->requests.record(record_, answer, took.count());
}

void connection::send(api_response answer, bool keep_alive) {
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

void connection::close() {
  tracker_->stopped_serving(this);
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(lingering_time);
  discard_until_closed();
}

void connection::discard_until_closed() {
  stream_.async_read_some(
    buffer_.prepare(discard_chunk),
    [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec)
        self->discard_until_closed();
    });
}

api_response too_many_connections() {
  return error_response(503, "too many connections; retry later");
}

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

} // namespace motorhead::http
