// The HTTP front's metrics: requests by route template, method and status,
// their latency, and connections.
#pragma once

#include <array>
#include <memory>
#include <string_view>

#include "core/metrics.hpp"
#include "http/routes.hpp"

namespace motorhead::http {

class http_metrics {
public:
  http_metrics();

  /// Counts one answered request; `seconds` from its last byte read to its
  /// answer handed to the socket. Lock-free.
  void record(route_kind route, std::string_view method, unsigned status,
              double seconds) noexcept;

  metrics::gauge open_connections;
  metrics::counter refused_connections;

  /// Appends every family to `out`; request series that never counted
  /// anything are left out.
  void render(metrics::text_writer& out) const;

  /// Methods the routes answer, and "other" for the rest.
  static constexpr std::size_t method_count = 5;

private:
  // Statuses 100..599, one slot each.
  static constexpr unsigned first_status = 100;
  static constexpr std::size_t status_count = 500;

  static std::size_t method_index(std::string_view method) noexcept;

  using status_counts = std::array<metrics::counter, status_count>;
  std::array<std::array<status_counts, method_count>, route_kind_count>
    requests_;
  std::array<std::array<std::unique_ptr<metrics::histogram>, method_count>,
             route_kind_count>
    latency_;
};

/// The one instance the server updates and GET /metrics reads.
http_metrics& global_http_metrics();

} // namespace motorhead::http
