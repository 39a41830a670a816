// The HTTP/1.1 server on Boost.Beast: one I/O thread, asynchronous reads and
// writes, keep-alive, a body limit and an idle timeout per connection.
#pragma once

#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "config/settings.hpp"
#include "http/api_handler.hpp"

namespace motorhead::http {

class http_server {
public:
  http_server(boost::asio::io_context& io, api_handler& api,
              const settings& cfg);
  ~http_server();

  /// Serves until SIGINT or SIGTERM.
  void run();

  uint16_t port() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace motorhead::http
