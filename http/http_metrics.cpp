#include "http/http_metrics.hpp"

namespace motorhead::http {

namespace {

constexpr std::array<std::string_view, http_metrics::method_count>
  method_names{"GET", "POST", "PATCH", "DELETE", "other"};

} // namespace

http_metrics::http_metrics() {
  for (auto& by_method : latency_)
    for (auto& h : by_method)
      h = std::make_unique<metrics::histogram>(metrics::latency_buckets());
}

std::size_t http_metrics::method_index(std::string_view method) noexcept {
  for (std::size_t i = 0; i + 1 < method_names.size(); ++i)
    if (method == method_names[i])
      return i;
  return method_names.size() - 1;
}

void http_metrics::record(route_kind route, std::string_view method,
                          unsigned status, double seconds) noexcept {
  auto r = static_cast<std::size_t>(route);
  auto m = method_index(method);
  if (status >= first_status && status - first_status < status_count)
    requests_[r][m][status - first_status].add();
  latency_[r][m]->observe(seconds);
}

void http_metrics::render(metrics::text_writer& out) const {
  out.family("motorhead_http_requests_total", "counter",
             "Answered HTTP requests by route template, method and status.");
  for (std::size_t r = 0; r < route_kind_count; ++r)
    for (std::size_t m = 0; m < method_count; ++m)
      for (std::size_t s = 0; s < status_count; ++s)
        if (auto n = requests_[r][m][s].value(); n > 0)
          out.sample("motorhead_http_requests_total",
                     metrics::labels(
                       {{"route", route_template(static_cast<route_kind>(r))},
                        {"method", method_names[m]},
                        {"status", std::to_string(first_status + s)}}),
                     static_cast<double>(n));
  out.family("motorhead_http_request_duration_seconds", "histogram",
             "From a request's last byte read to its answer, by route "
             "template and method.");
  for (std::size_t r = 0; r < route_kind_count; ++r)
    for (std::size_t m = 0; m < method_count; ++m)
      if (latency_[r][m]->count() > 0)
        out.histogram_samples(
          "motorhead_http_request_duration_seconds",
          metrics::labels({{"route", route_template(static_cast<route_kind>(r))},
                           {"method", method_names[m]}}),
          *latency_[r][m]);
  out.family("motorhead_http_connections", "gauge",
             "Client connections open now.");
  out.sample("motorhead_http_connections", {},
             static_cast<double>(open_connections.value()));
  out.family("motorhead_http_refused_connections_total", "counter",
             "Connections refused over MOTORHEAD_MAX_CONNECTIONS.");
  out.sample("motorhead_http_refused_connections_total", {},
             static_cast<double>(refused_connections.value()));
}

http_metrics& global_http_metrics() {
  static http_metrics instance;
  return instance;
}

} // namespace motorhead::http
