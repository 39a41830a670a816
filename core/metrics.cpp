#include "core/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/text.hpp"

namespace motorhead::metrics {

// -- primitives ---------------------------------------------------------------

histogram::histogram(std::vector<double> upper_bounds)
  : upper_bounds_(std::move(upper_bounds)),
    counts_(new std::atomic<uint64_t>[upper_bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i)
    counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double value) noexcept {
  auto bucket = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(),
                                 value)
                - upper_bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  // C++17 has no fetch_add for atomic<double>.
  auto sum = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(sum, sum + value,
                                     std::memory_order_relaxed))
    ;
}

uint64_t histogram::count() const noexcept {
  uint64_t total = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i)
    total += bucket_count(i);
  return total;
}

double histogram::sum() const noexcept {
  return sum_.load(std::memory_order_relaxed);
}

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
}

std::vector<double> slow_latency_buckets() {
  return {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
}

std::vector<double> batch_size_buckets() {
  return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
}

// -- text format --------------------------------------------------------------

namespace {

void append_number(std::string& out, double value) {
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char text[32];
  int n = 0;
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    // Whole numbers print as such: "42", not "4.2e+01".
    n = std::snprintf(text, sizeof text, "%.0f", value);
  } else {
    // The shortest form that reads back as the same double: "0.0005",
    // not "0.00050000000000000001".
    for (int precision = 15; precision <= 17; ++precision) {
      n = std::snprintf(text, sizeof text, "%.*g", precision, value);
      if (std::strtod(text, nullptr) == value)
        break;
    }
  }
  out.append(text, static_cast<std::size_t>(n));
}

std::string with_label(std::string_view label_text, std::string_view extra) {
  std::string out{label_text};
  if (!out.empty())
    out.push_back(',');
  out += extra;
  return out;
}

} // namespace

std::string labels(
  std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty())
      out.push_back(',');
    out += name;
    out += "=\"";
    append_escaped(out, value);
    out.push_back('"');
  }
  return out;
}

void text_writer::family(std::string_view name, std::string_view type,
                         std::string_view help) {
  text_ += "# HELP ";
  text_ += name;
  text_.push_back(' ');
  text_ += help;
  text_ += "\n# TYPE ";
  text_ += name;
  text_.push_back(' ');
  text_ += type;
  text_.push_back('\n');
}

void text_writer::sample(std::string_view name, std::string_view label_text,
                         double value) {
  text_ += name;
  if (!label_text.empty()) {
    text_.push_back('{');
    text_ += label_text;
    text_.push_back('}');
  }
  text_.push_back(' ');
  append_number(text_, value);
  text_.push_back('\n');
}

void text_writer::histogram_samples(std::string_view name,
                                    std::string_view label_text,
                                    const histogram& h) {
  std::string bucket_name{name};
  bucket_name += "_bucket";
  uint64_t cumulative = 0;
  const auto& bounds = h.upper_bounds();
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += h.bucket_count(i);
    std::string le;
    append_number(le, i < bounds.size() ? bounds[i] : INFINITY);
    sample(bucket_name, with_label(label_text, "le=\"" + le + "\""),
           static_cast<double>(cumulative));
  }
  sample(std::string{name} + "_sum", label_text, h.sum());
  // The count is the +Inf bucket, so that the two always agree.
  sample(std::string{name} + "_count", label_text,
         static_cast<double>(cumulative));
}

// -- the server's metrics -----------------------------------------------------

namespace {

constexpr std::array<std::string_view, provider_purpose_count> purpose_names{
  "summary", "embedding"};
constexpr std::array<std::string_view, provider_call_result_count>
  result_names{"ok", "rate_limited", "client_error", "server_error",
               "transport_error"};

void render_counter(text_writer& out, std::string_view name,
                    std::string_view help, const counter& c) {
  out.family(name, "counter", help);
  out.sample(name, {}, static_cast<double>(c.value()));
}

void render_gauge(text_writer& out, std::string_view name,
                  std::string_view help, const gauge& g) {
  out.family(name, "gauge", help);
  out.sample(name, {}, static_cast<double>(g.value()));
}

void render_histogram(text_writer& out, std::string_view name,
                      std::string_view help, const histogram& h) {
  out.family(name, "histogram", help);
  out.histogram_samples(name, {}, h);
}

} // namespace

server_metrics::server_metrics()
  : fold_seconds(slow_latency_buckets()),
    provider_call_seconds{histogram{slow_latency_buckets()},
                          histogram{slow_latency_buckets()}},
    commit_batch_operations(batch_size_buckets()) {
}

void server_metrics::record_provider_call(provider_purpose purpose,
                                          provider_call_result result,
                                          double seconds) {
  auto p = static_cast<std::size_t>(purpose);
  provider_calls[p][static_cast<std::size_t>(result)].add();
  provider_call_seconds[p].observe(seconds);
}

void server_metrics::render(text_writer& out) const {
  render_gauge(out, "motorhead_sessions_live",
               "Session actors alive on this node.", live_sessions);
  render_counter(out, "motorhead_session_loads_total",
                 "Sessions loaded from Redis into a fresh actor.",
                 session_loads);
  render_counter(out, "motorhead_session_idle_stops_total",
                 "Session actors stopped after their idle time.",
                 session_idle_stops);
  render_counter(out, "motorhead_session_evictions_total",
                 "Idle session actors stopped, least recently used first, "
                 "to stay within MOTORHEAD_MAX_SESSIONS.",
                 session_evictions);
  render_counter(out, "motorhead_session_evictions_deferred_total",
                 "Evictions put off because the session had work in flight "
                 "(a write, a read, a fold): meanwhile more sessions than "
                 "MOTORHEAD_MAX_SESSIONS are alive.",
                 session_evictions_deferred);
  render_counter(out, "motorhead_sessions_expired_total",
                 "Sessions deleted for being untouched for "
                 "MOTORHEAD_SESSION_TTL_SECONDS.",
                 sessions_expired);

  render_gauge(out, "motorhead_folds_queued",
               "Folds waiting for a summarizer worker.", folds_queued);
  render_gauge(out, "motorhead_folds_in_flight",
               "Folds a summarizer worker is running.", folds_in_flight);
  render_counter(out, "motorhead_folds_done_total",
                 "Folds that produced a summary.", folds_done);
  render_counter(out, "motorhead_folds_failed_total",
                 "Folds that failed or were dropped unrun.", folds_failed);
  render_histogram(out, "motorhead_fold_duration_seconds",
                   "From a fold's arrival at the summarizer pool to its "
                   "result, queueing included.",
                   fold_seconds);

  out.family("motorhead_provider_calls_total", "counter",
             "Calls to the model provider by purpose and result; "
             "purpose=\"embedding\" counts the embedding calls.");
  for (std::size_t p = 0; p < provider_purpose_count; ++p)
    for (std::size_t r = 0; r < provider_call_result_count; ++r)
      out.sample("motorhead_provider_calls_total",
                 labels({{"purpose", purpose_names[p]},
                         {"result", result_names[r]}}),
                 static_cast<double>(provider_calls[p][r].value()));
  out.family("motorhead_provider_call_duration_seconds", "histogram",
             "Duration of one provider call, by purpose.");
  for (std::size_t p = 0; p < provider_purpose_count; ++p)
    out.histogram_samples("motorhead_provider_call_duration_seconds",
                          labels({{"purpose", purpose_names[p]}}),
                          provider_call_seconds[p]);
  render_counter(out, "motorhead_provider_tokens_total",
                 "Tokens the provider reported spending on summaries.",
                 provider_tokens);

  render_counter(out, "motorhead_redis_round_trips_total",
                 "Pipelines sent to Redis (one round trip each).",
                 redis_round_trips);
  render_counter(out, "motorhead_redis_commands_total",
                 "Commands sent to Redis.", redis_commands);
  render_counter(out, "motorhead_redis_errors_total",
                 "Failed connections, lost connections and error replies.",
                 redis_errors);
  render_counter(out, "motorhead_redis_redirections_total",
                 "Commands a Redis Cluster node sent elsewhere (MOVED, ASK) "
                 "or asked to send again (TRYAGAIN), and that were.",
                 redis_redirections);
  render_counter(out, "motorhead_redis_slot_map_refreshes_total",
                 "Times the slot map of the Redis Cluster was read.",
                 redis_slot_map_refreshes);
  render_histogram(out, "motorhead_commit_batch_operations",
                   "Operations sharing one Redis pipeline (group commit).",
                   commit_batch_operations);

  render_gauge(out, "motorhead_cluster_members",
               "Cluster members this node sees, itself included.",
               cluster_members);
  render_gauge(out, "motorhead_cluster_view_version",
               "Version of the membership table in Redis that this node's "
               "view of the members is from.",
               cluster_view_version);
  render_counter(out, "motorhead_forwarded_requests_total",
                 "Requests this node forwarded to a session's owner.",
                 forwarded_requests);
  render_counter(out, "motorhead_forward_failures_total",
                 "Forwarded requests that failed at the peer or in transit.",
                 forward_failures);
}

server_metrics& global() {
  static server_metrics instance;
  return instance;
}

} // namespace motorhead::metrics
