#include "core/metrics.hpp"

#include <gtest/gtest.h>

#include "http/http_metrics.hpp"

using namespace motorhead;

TEST(Histogram, CountsEachObservationInItsBucket) {
  metrics::histogram h{{0.1, 1, 10}};
  for (double v : {0.05, 0.1, 0.5, 5.0, 50.0, 500.0})
    h.observe(v);
  EXPECT_EQ(h.bucket_count(0), 2u); // 0.05 and 0.1: bounds are inclusive
  EXPECT_EQ(h.bucket_count(1), 1u);
  EXPECT_EQ(h.bucket_count(2), 1u);
  EXPECT_EQ(h.bucket_count(3), 2u); // +Inf
  EXPECT_EQ(h.count(), 6u);
  EXPECT_DOUBLE_EQ(h.sum(), 555.65);
}

TEST(TextWriter, WritesAHistogramCumulatively) {
  metrics::histogram h{{0.0005, 2}};
  h.observe(0.0001);
  h.observe(1);
  h.observe(3);
  metrics::text_writer out;
  out.family("x_seconds", "histogram", "An example.");
  out.histogram_samples("x_seconds", metrics::labels({{"route", "/a"}}), h);
  EXPECT_EQ(out.text(), "# HELP x_seconds An example.\n"
                        "# TYPE x_seconds histogram\n"
                        "x_seconds_bucket{route=\"/a\",le=\"0.0005\"} 1\n"
                        "x_seconds_bucket{route=\"/a\",le=\"2\"} 2\n"
                        "x_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n"
                        "x_seconds_sum{route=\"/a\"} 4.0001\n"
                        "x_seconds_count{route=\"/a\"} 3\n");
}

TEST(TextWriter, EscapesLabelValues) {
  EXPECT_EQ(metrics::labels({{"a", "x\"y\\z\nw"}, {"b", ""}}),
            "a=\"x\\\"y\\\\z\\nw\",b=\"\"");
}

TEST(TextWriter, WritesNumbersAsPrometheusReadsThem) {
  metrics::text_writer out;
  out.sample("a", {}, 42);
  out.sample("b", {}, 0.1);
  out.sample("c", {}, -3);
  out.sample("d", {}, 1.5e-7);
  EXPECT_EQ(out.text(), "a 42\nb 0.1\nc -3\nd 1.5e-07\n");
}

TEST(GaugeHold, CountsWhileItLives) {
  metrics::gauge g;
  {
    metrics::gauge_hold one{g};
    metrics::gauge_hold two{g};
    EXPECT_EQ(g.value(), 2);
  }
  EXPECT_EQ(g.value(), 0);
}

TEST(HttpMetrics, LeaveOutSeriesThatNeverCounted) {
  http::http_metrics m;
  m.record(http::route_kind::memory, "POST", 200, 0.002);
  m.record(http::route_kind::memory, "POST", 200, 0.004);
  m.record(http::route_kind::not_found, "PUT", 404, 0.0001);
  metrics::text_writer out;
  m.render(out);
  const auto& text = out.text();
  EXPECT_NE(text.find("motorhead_http_requests_total{route=\"/sessions/{id}/"
                      "memory\",method=\"POST\",status=\"200\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("motorhead_http_requests_total{route=\"unmatched\","
                      "method=\"other\",status=\"404\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("motorhead_http_request_duration_seconds_count{route=\""
                      "/sessions/{id}/memory\",method=\"POST\"} 2\n"),
            std::string::npos);
  EXPECT_EQ(text.find("route=\"/healthz\""), std::string::npos);
  EXPECT_EQ(text.find("method=\"GET\""), std::string::npos);
}

TEST(HttpMetrics, IgnoreAStatusOutsideHttpsRange) {
  http::http_metrics m;
  m.record(http::route_kind::health, "GET", 99, 0.001);
  m.record(http::route_kind::health, "GET", 600, 0.001);
  metrics::text_writer out;
  m.render(out);
  EXPECT_EQ(out.text().find("motorhead_http_requests_total{"),
            std::string::npos);
}
