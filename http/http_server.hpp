// The HTTP/1.1 server on Boost.Beast: one I/O thread, asynchronous reads and
// writes, keep-alive, a body limit and an idle timeout per connection, and
// a graceful drain at SIGINT or SIGTERM.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "config/settings.hpp"
#include "http/api_handler.hpp"

namespace motorhead::http {

struct serve_outcome {
  /// Every request in flight at the signal was answered in time.
  bool drained = false;
  /// When the whole shutdown must be over (the signal plus
  /// MOTORHEAD_SHUTDOWN_TIMEOUT_MS).
  std::chrono::steady_clock::time_point deadline;
};

class http_server {
public:
  http_server(boost::asio::io_context& io, api_handler& api,
              const settings& cfg);
  ~http_server();

  /// Serves until SIGINT or SIGTERM, then drains: accepts nothing more,
  /// closes idle connections and answers the requests in flight with
  /// `Connection: close`, until none is left or the shutdown timeout.
  serve_outcome run();

  uint16_t port() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace motorhead::http
