// motorhead: the server process. Reads the settings, starts the actors and
// serves HTTP until SIGINT or SIGTERM.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <curl/curl.h>
#include <unistd.h>

#include "actors/cluster_node.hpp"
#include "actors/embedder.hpp"
#include "app/check_health.hpp"
#include "app/migrate.hpp"
#include "actors/persistence_actor.hpp"
#include "actors/provider_summarizer.hpp"
#include "actors/session_registry.hpp"
#include "actors/summarizer_pool.hpp"
#include "actors/retention_sweeper.hpp"
#include "config/settings.hpp"
#include "config/tls_credentials.hpp"
#include "core/build_info.hpp"
#include "core/text.hpp"
#include "core/unix_time.hpp"
#include "http/api_handler.hpp"
#include "http/http_server.hpp"

namespace {

using namespace motorhead;

/// The actors of one node, stopped together.
struct node_actors {
  persistence_actor store;
  summarizer_pool_actor pool;
  embedder_actor embedder; // with long-term memory and a provider
  caf::actor sweeper;      // likewise
  caf::actor retention;    // with MOTORHEAD_SESSION_TTL_SECONDS
  registry_actor registry;
  cluster_actor cluster;
  // The membership table's own connection to Redis: a round trip of
  // session writes, which may wait for replicas (WAIT) or carry a large
  // group commit, never delays a lease renewal.
  persistence_actor table_store;
  caf::actor connector;   // reaches the other members
  router_actor router;    // what the HTTP front talks to
  caf::actor redis_probe; // until Redis first answers
  // The sessions' tokenizer: the HTTP front counts long POSTs with it.
  std::shared_ptr<const bpe_tokenizer> tokenizer;

  void stop() {
    for (const caf::actor_addr& addr :
         {redis_probe.address(), sweeper.address(), retention.address(),
          cluster.address(),
          table_store.address(), connector.address(), registry.address(),
          pool.address(), embedder.address(), store.address()})
      if (addr)
        caf::anon_send_exit(addr, caf::exit_reason::user_shutdown);
  }
};

double random_unit() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>{0.0, 1.0}(engine);
}

/// How the node calls its provider: one transport for the summarizer
/// workers and the embedder alike. No transport (no thread) without one.
provider_calls make_provider_calls(const settings& cfg) {
  provider_calls calls;
  if (chat_endpoint_from(cfg))
    calls.transport = std::make_shared<curl_transport>();
  calls.backoff.base = cfg.provider_retry_base;
  calls.backoff.max_attempts = cfg.provider_max_attempts;
  calls.timeout = cfg.provider_timeout;
  calls.jitter = random_unit;
  return calls;
}

/// The tokenizer of the model's encoding (or MOTORHEAD_TOKENIZER's): it
/// counts the tokens of every posted message and of provider prompts.
outcome<std::shared_ptr<const bpe_tokenizer>> load_tokenizer(const settings& cfg) {
  using result = outcome<std::shared_ptr<const bpe_tokenizer>>;
  auto encoding = cfg.tokenizer.empty() ? encoding_for_model(cfg.model)
                                        : cfg.tokenizer;
  auto tokenizer = bpe_tokenizer::load_file(cfg.tokenizer_dir + "/" + encoding
                                            + ".json");
  if (!tokenizer)
    return result::failure(tokenizer.error
                           + " (scripts/fetch-tokenizers puts the files in "
                             "place; MOTORHEAD_TOKENIZER_DIR says where)");
  return {std::make_shared<const bpe_tokenizer>(std::move(*tokenizer.value)),
          {}};
}

/// Everything provider workers share, or the reason it cannot be built.
outcome<std::shared_ptr<const provider_context>>
make_provider_context(const settings& cfg, chat_endpoint endpoint,
                      const provider_calls& calls,
                      const persistence_actor& store,
                      std::shared_ptr<const bpe_tokenizer> tokenizer) {
  using result = outcome<std::shared_ptr<const provider_context>>;
  auto prompt = cfg.summary_prompt_file.empty()
                  ? outcome<summary_prompt>{summary_prompt::standard(), {}}
                  : summary_prompt::from_file(cfg.summary_prompt_file);
  if (!prompt)
    return result::failure("MOTORHEAD_SUMMARY_PROMPT_FILE: " + prompt.error);
  auto ctx = std::make_shared<provider_context>();
  ctx->endpoint = std::move(endpoint);
  ctx->calls = calls;
  ctx->tokenizer = std::move(tokenizer);
  ctx->prompt = std::make_shared<summary_prompt>(std::move(*prompt.value));
  ctx->limiter = std::make_shared<rate_limiter>(cfg.provider_rpm,
                                                cfg.provider_tpm);
  if (cfg.provider_rpm > 0 || cfg.provider_tpm > 0)
    ctx->cluster_limit = cluster_rate_limit{store, cfg.provider_rpm,
                                            cfg.provider_tpm};
  ctx->budget = {cfg.model_context_tokens, cfg.summary_max_tokens};
  return {std::move(ctx), {}};
}

/// The summarizer workers: provider workers when a provider is configured,
/// else the built-in extractive summarizer.
outcome<std::vector<summarizer_actor>>
spawn_summarizers(caf::actor_system& system, const settings& cfg,
                  const provider_calls& calls, const persistence_actor& store,
                  std::shared_ptr<const bpe_tokenizer> tokenizer) {
  std::vector<summarizer_actor> workers;
  auto endpoint = chat_endpoint_from(cfg);
  if (!endpoint) {
    log_info("main", "summarizer: built-in extractive (no model provider "
                     "configured)");
    extractive_options options;
    options.max_chars = cfg.summary_max_chars;
    for (std::size_t i = 0; i < cfg.summarizer_concurrency; ++i)
      workers.push_back(system.spawn(extractive_summarizer, options));
    return {std::move(workers), {}};
  }
  log_info("main", "summarizer: " + endpoint->description + ", model "
                     + endpoint->model);
  auto ctx = make_provider_context(cfg, std::move(*endpoint), calls, store,
                                   std::move(tokenizer));
  if (!ctx)
    return outcome<std::vector<summarizer_actor>>::failure(ctx.error);
  for (std::size_t i = 0; i < cfg.summarizer_concurrency; ++i)
    workers.push_back(system.spawn(provider_summarizer, *ctx.value));
  return {std::move(workers), {}};
}

/// Joins the cluster of the nodes that share this Redis: the node actor,
/// published on the cluster port, and the connector that reaches the
/// members. Returns an error or "".
std::string join_cluster(caf::actor_system& system, const settings& cfg,
                         node_actors& actors,
                         std::shared_ptr<serving_lease> lease) {
  cluster_settings cluster;
  cluster.lease = cfg.cluster_lease;
  cluster.serving = std::move(lease);
  cluster.incarnation = unix_time_us();
  cluster.seeds = cfg.cluster_peers;
  cluster.heartbeat = cfg.cluster_heartbeat;
  cluster.failure_timeout = cfg.cluster_failure;
  cluster.forward_timeout = cfg.request_timeout;
  cluster.one_connection_per_pair = cfg.cluster_tls();
  if (cfg.cluster_tls() && !cfg.cluster_peers.empty())
    log_warn("main", "MOTORHEAD_CLUSTER_PEERS is not used with TLS: the "
                     "nodes find each other through Redis");
  for (const auto& key : cfg.api_keys)
    cluster.key_scopes[key.scope.key] = key.scope;
  actors.connector = system.spawn(cluster_connector, cfg.cluster_failure,
                                  cfg.cluster_tls());
  actors.table_store = system.spawn<caf::detached>(
    persistence, persistence_options{redis_options_of(cfg), std::nullopt});
  actors.cluster = system.spawn(cluster_node, cluster, actors.registry,
                                actors.pool, actors.table_store,
                                actors.connector);
  caf::anon_send(actors.pool, overflow_atom::value,
                 summarizer_actor{actors.cluster});
  auto gateway = system.spawn(node_gateway, actors.cluster);
  auto host = cfg.cluster_host.c_str();
  auto port = cfg.cluster_tls()
                ? caf::openssl::publish(gateway, cfg.cluster_port, host, true)
                : system.middleman().publish(gateway, cfg.cluster_port, host,
                                             true);
  if (!port)
    return "cannot listen on cluster port "
           + host_port(cfg.cluster_host, cfg.cluster_port)
           + " (MOTORHEAD_CLUSTER_HOST and MOTORHEAD_CLUSTER_PORT): "
           + system.render(port.error());
  auto address = cfg.node_name.empty() ? host_port(cfg.cluster_host, *port)
                                       : cfg.node_name;
  // From an actor of this process: the node takes no anonymous orders.
  caf::scoped_actor{system}->send(actors.cluster, join_atom::value, address);
  actors.router = actors.cluster;
  log_info("main", "cluster port " + host_port(cfg.cluster_host, *port)
                     + ", reached at " + address
                     + (cfg.cluster_tls() ? ", mutual TLS" : ", no TLS"));
  return {};
}

/// The embedder of long-term memory, when a provider is configured.
embedder_actor spawn_embedder(caf::actor_system& system, const settings& cfg,
                              const provider_calls& calls) {
  auto endpoint = embedding_endpoint_from(cfg);
  if (!cfg.long_term_memory || !endpoint) {
    if (cfg.long_term_memory)
      log_info("main", "long-term memory: BM25 (no model provider)");
    return {};
  }
  log_info("main", "long-term memory: BM25 and embeddings (" + endpoint->model
                     + ", " + endpoint->description + ")");
  embedder_settings es;
  es.endpoint = std::move(*endpoint);
  es.calls = calls;
  es.concurrency = cfg.summarizer_concurrency;
  return system.spawn(embedder, std::move(es));
}

/// The sessions' store: loads move what the original Motorhead wrote,
/// unless MOTORHEAD_ORIGINAL_LAYOUT=false, with long-term memory as a POST
/// has it.
persistence_options persistence_options_of(const settings& cfg) {
  persistence_options options{redis_options_of(cfg), std::nullopt};
  if (cfg.original_layout)
    options.original = store::original_import{
      cfg.long_term_memory,
      cfg.long_term_memory && embedding_endpoint_from(cfg).has_value(), {}};
  return options;
}

/// Where the store of record is, as the log names it.
std::string redis_description(const settings& cfg) {
  if (!cfg.redis_sentinels.empty())
    return "Redis master \"" + cfg.redis_master + "\" of "
           + std::to_string(cfg.redis_sentinels.size()) + " sentinels";
  return (cfg.redis_seeds.size() > 1 ? "Redis Cluster at " : "Redis at ")
         + host_port(cfg.redis.host, cfg.redis.port);
}

/// Asks Redis at the start whether it answers, then again after a delay
/// that doubles up to 30 s until it does, and says so. While it does not,
/// the persistence actor logs the outage and /readyz answers 503.
caf::behavior redis_probe(caf::event_based_actor* self,
                          persistence_actor store, std::string where) {
  auto delay = std::make_shared<std::chrono::milliseconds>(250);
  auto attempts = std::make_shared<unsigned>(0);
  self->send(self, ping_atom::value);
  return {
    [=](ping_atom) {
      ++*attempts;
      self->request(store, std::chrono::seconds{60}, ping_atom::value)
        .then(
          [=](ok_atom) {
            log_info("main", where + " answers"
                               + (*attempts > 1 ? " (attempt "
                                                    + std::to_string(*attempts)
                                                    + ")"
                                                : std::string{}));
            self->quit();
          },
          [=](caf::error&) {
            self->delayed_send(self, *delay, ping_atom::value);
            *delay = std::min(*delay * 2, std::chrono::milliseconds{30000});
          });
    },
  };
}

outcome<node_actors> start_actors(caf::actor_system& system,
                                  const settings& cfg) {
  auto tokenizer = load_tokenizer(cfg);
  if (!tokenizer)
    return outcome<node_actors>::failure(tokenizer.error);
  node_actors actors;
  actors.tokenizer = *tokenizer.value;
  actors.store = system.spawn<caf::detached>(persistence,
                                             persistence_options_of(cfg));
  auto calls = make_provider_calls(cfg);
  auto workers = spawn_summarizers(system, cfg, calls, actors.store,
                                   *tokenizer.value);
  if (!workers) {
    actors.stop();
    return outcome<node_actors>::failure(workers.error);
  }
  actors.pool = system.spawn(summarizer_pool, std::move(*workers.value),
                             cfg.summarizer_queue);
  actors.embedder = spawn_embedder(system, cfg, calls);
  session_limits limits;
  limits.max_window = cfg.max_window_size;
  limits.max_metadata_bytes = cfg.max_metadata_bytes;
  limits.long_term_memory = cfg.long_term_memory;
  limits.original_layout = cfg.original_layout;
  limits.embedding_batch = cfg.embedding_batch;
  limits.embedder_timeout = cfg.provider_timeout * cfg.provider_max_attempts;
  auto lease = std::make_shared<serving_lease>();
  actors.registry = system.spawn(
    session_registry,
    session_setup{limits,
                  {actors.store, summarizer_actor{actors.pool},
                   actors.embedder},
                  std::move(*tokenizer.value), lease},
    session_cache_policy{cfg.session_idle, cfg.max_sessions});
  actors.router = actors.registry;
  if (auto err = join_cluster(system, cfg, actors, lease); !err.empty()) {
    actors.stop();
    return outcome<node_actors>::failure(err);
  }
  if (actors.embedder)
    actors.sweeper = system.spawn(embedding_sweeper, actors.store, actors.router,
                                  std::chrono::milliseconds{60000});
  if (cfg.session_ttl.count() > 0)
    actors.retention = system.spawn(retention_sweeper, actors.store,
                                    actors.router, cfg.session_ttl,
                                    retention_interval(cfg.session_ttl));
  actors.redis_probe = system.spawn(redis_probe, actors.store,
                                    redis_description(cfg));
  return {std::move(actors), {}};
}

void configure_actor_system(caf::actor_system_config& caf_cfg,
                            const settings& cfg) {
  add_protocol_types(caf_cfg);
  // By default half the hardware threads: the HTTP front has a thread of
  // its own, and every message to an actor whose worker sleeps costs a
  // futex wake-up and a context switch. On 2 cores one worker serves GET
  // ~19 % faster than two (bench/RESULTS.md).
  auto threads = cfg.actor_threads != 0
                   ? cfg.actor_threads
                   : std::max(1u, std::thread::hardware_concurrency() / 2);
  caf_cfg.set("scheduler.max-threads", threads);
  // One shared queue. Work stealing in CAF 0.17 takes from the tail of a
  // singly linked queue by walking it from the head: when one handler wakes
  // thousands of actors at once (retiring every session, a wave of idle
  // checks), each steal is O(queue length) and the burst O(n^2).
  caf_cfg.set("scheduler.policy", caf::atom("sharing"));
  caf_cfg.set("logger.console-verbosity", caf::atom("quiet"));
  caf_cfg.load<caf::io::middleman>();
  if (cfg.cluster_tls()) {
    // Both sides of every connection show a certificate from the CA.
    caf_cfg.load<caf::openssl::manager>();
    caf_cfg.openssl_certificate = cfg.cluster_tls_cert;
    caf_cfg.openssl_key = cfg.cluster_tls_key;
    caf_cfg.openssl_cafile = cfg.cluster_tls_ca;
  }
  // Without heartbeats a frozen peer is never noticed by the middleman.
  caf_cfg.set("middleman.heartbeat-interval", caf::timespan{cfg.cluster_heartbeat});
  caf_cfg.set("middleman.connection-timeout", caf::timespan{cfg.cluster_failure});
}

/// After the HTTP drain: the peers hear that this node leaves, and every
/// write already queued at the persistence actor gets its reply (a ping
/// queues behind them). False when either fails or the deadline passes.
bool hand_over_and_flush(caf::actor_system& system, const node_actors& actors,
                         std::chrono::steady_clock::time_point deadline) {
  using std::chrono::milliseconds;
  auto remaining = [&] {
    auto left = std::chrono::duration_cast<milliseconds>(
      deadline - std::chrono::steady_clock::now());
    return std::max(left, milliseconds{1});
  };
  bool done = true;
  auto failed = [&](const char* step) {
    return [&done, &system, step](caf::error& err) {
      log_error("main", std::string{"shutdown: "} + step + " failed: "
                          + system.render(err));
      done = false;
    };
  };
  caf::scoped_actor self{system};
  if (actors.cluster)
    self->request(actors.cluster, remaining(), leave_atom::value)
      .receive([](ok_atom) {}, failed("leaving the cluster"));
  self->request(actors.store, remaining(), ping_atom::value)
    .receive([](ok_atom) {}, failed("flushing the writes to Redis"));
  return done;
}

std::string version_text() {
  return std::string{"motorhead "} + build_version + " (commit " + build_commit
         + ")";
}

void log_startup(const settings& cfg, uint16_t port) {
  log_info("main", version_text() + " listening on "
                     + host_port(cfg.host, port) + ", "
                     + redis_description(cfg) + ", window "
                     + std::to_string(cfg.max_window_size));
}

/// The names of the environment's variables.
std::vector<std::string> environment_names() {
  std::vector<std::string> names;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view text{*entry};
    names.emplace_back(text.substr(0, text.find('=')));
  }
  return names;
}

/// `motorhead migrate ARGS...` (see app/migrate.hpp).
int migrate_command(const std::vector<std::string>& args) {
  if (std::find(args.begin(), args.end(), "--help") != args.end()) {
    print_migrate_usage(std::cout);
    return EXIT_SUCCESS;
  }
  auto options = parse_migrate_arguments(args);
  if (!options) {
    std::cerr << "motorhead migrate: " << options.error << " (see --help)\n";
    return EXIT_FAILURE;
  }
  auto loaded = load_settings([](const char* name) { return std::getenv(name); });
  if (!loaded.errors.empty()) {
    for (const auto& err : loaded.errors)
      std::cerr << "motorhead migrate: " << err << "\n";
    return EXIT_FAILURE;
  }
  // Its progress and summary say what it does: the log only warns.
  configure_log(std::max(loaded.value.log_min, log_level::warn),
                loaded.value.log_output);
  return run_migration(loaded.value, *options.value, std::cout, std::cerr);
}

} // namespace

int main(int argc, char** argv) {
  // A write to a peer that closed its end (OpenSSL's, on a Redis TLS
  // connection) fails with EPIPE instead of stopping the process.
  std::signal(SIGPIPE, SIG_IGN);
  if (argc > 1 && std::strcmp(argv[1], "migrate") == 0)
    return migrate_command(std::vector<std::string>(argv + 2, argv + argc));
  if (argc > 1 && std::strcmp(argv[1], "--check-health") == 0 && argc <= 3)
    return check_health(argc == 3 ? argv[2] : default_health_url());
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      print_usage(std::cout);
      return EXIT_SUCCESS;
    }
    if (std::strcmp(argv[i], "--version") == 0) {
      std::cout << version_text() << "\n";
      return EXIT_SUCCESS;
    }
    std::cerr << "motorhead: unknown argument \"" << argv[i]
              << "\" (the server is configured through the environment; "
                 "see --help)\n";
    return EXIT_FAILURE;
  }
  auto loaded = load_settings([](const char* name) { return std::getenv(name); });
  if (!loaded.errors.empty()) {
    for (const auto& err : loaded.errors)
      log_error("main", err);
    return EXIT_FAILURE;
  }
  const auto& cfg = loaded.value;
  if (cfg.cluster_tls())
    if (auto err = load_tls_credentials(cfg.cluster_tls_cert,
                                        cfg.cluster_tls_key, cfg.cluster_tls_ca);
        !err.empty()) {
      log_error("main", err);
      return EXIT_FAILURE;
    }
  configure_log(cfg.log_min, cfg.log_output);
  for (const auto& warning : loaded.warnings)
    log_warn("main", warning);
  for (const auto& warning : unknown_variable_warnings(environment_names()))
    log_warn("main", warning);
  curl_global_init(CURL_GLOBAL_DEFAULT); // before any thread starts

  caf::actor_system_config caf_cfg;
  configure_actor_system(caf_cfg, cfg);
  boost::asio::io_context io{1}; // outlives the actors that post to it
  caf::actor_system system{caf_cfg};
  auto actors = start_actors(system, cfg);
  if (!actors) {
    log_error("main", actors.error);
    return EXIT_FAILURE;
  }
  bool clean = false;
  try {
    http::api_handler api{system, actors.value->router, cfg, io,
                          actors.value->tokenizer};
    http::http_server server{io, api, cfg};
    log_startup(cfg, server.port());
    auto served = server.run();
    clean = hand_over_and_flush(system, *actors.value, served.deadline)
            && served.drained;
  } catch (const std::exception& ex) {
    log_error("main", ex.what());
    actors.value->stop();
    return EXIT_FAILURE;
  }
  actors.value->stop();
  if (!clean) {
    // The actor system's teardown waits for every actor, and a Redis
    // actor may be blocked in a round trip Redis does not answer (up to
    // MOTORHEAD_REDIS_TIMEOUT_MS): the shutdown timeout bounds the exit.
    log_info("main", "stopped (shutdown cut short)");
    std::fflush(nullptr);
    std::_Exit(EXIT_FAILURE);
  }
  log_info("main", "stopped");
  return EXIT_SUCCESS;
}
