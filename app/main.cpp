// motorhead: the server process. Reads the settings, starts the actors and
// serves HTTP until SIGINT or SIGTERM.
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <caf/all.hpp>

#include "actors/persistence_actor.hpp"
#include "actors/session_registry.hpp"
#include "actors/summarizer_pool.hpp"
#include "config/settings.hpp"
#include "http/api_handler.hpp"
#include "http/http_server.hpp"

namespace {

using namespace motorhead;

/// The actors of one node, stopped together.
struct node_actors {
  persistence_actor store;
  summarizer_actor summarizer;
  registry_actor registry;

  void stop() {
    for (const caf::actor_addr& addr :
         {registry.address(), summarizer.address(), store.address()})
      caf::anon_send_exit(addr, caf::exit_reason::user_shutdown);
  }
};

node_actors start_actors(caf::actor_system& system, const settings& cfg) {
  node_actors actors;
  actors.store = system.spawn<caf::detached>(persistence, cfg.redis,
                                             cfg.redis_timeout);
  std::vector<summarizer_actor> workers;
  extractive_options options;
  options.max_chars = cfg.summary_max_chars;
  for (std::size_t i = 0; i < cfg.summarizer_concurrency; ++i)
    workers.push_back(system.spawn(extractive_summarizer, options));
  actors.summarizer = system.spawn(summarizer_pool, std::move(workers),
                                   cfg.summarizer_queue);
  session_limits limits;
  limits.max_window = cfg.max_window_size;
  limits.idle = cfg.session_idle;
  limits.store_timeout = cfg.request_timeout;
  actors.registry = system.spawn(session_registry, actors.store,
                                 actors.summarizer, limits);
  return actors;
}

void log_startup(const settings& cfg, uint16_t port) {
  std::cerr << "motorhead: listening on " << cfg.host << ":" << port
            << ", Redis at " << cfg.redis.host << ":" << cfg.redis.port
            << ", window " << cfg.max_window_size << "\n"
            << "motorhead: summarizer: built-in extractive\n";
  if (!cfg.openai_api_key.empty() || !cfg.azure_api_key.empty())
    std::cerr << "motorhead: a model provider is configured, but this build "
                 "summarizes with the built-in summarizer\n";
  if (cfg.long_term_memory)
    std::cerr << "motorhead: long-term memory is not available in this "
                 "build; /retrieval answers 400\n";
}

} // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      print_usage(std::cout);
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
      std::cerr << "motorhead: " << err << "\n";
    return EXIT_FAILURE;
  }
  const auto& cfg = loaded.value;

  caf::actor_system_config caf_cfg;
  add_protocol_types(caf_cfg);
  caf_cfg.set("scheduler.max-threads",
              std::max(1u, std::thread::hardware_concurrency()));
  caf_cfg.set("logger.console-verbosity", caf::atom("quiet"));
  boost::asio::io_context io{1}; // outlives the actors that post to it
  caf::actor_system system{caf_cfg};
  auto actors = start_actors(system, cfg);
  try {
    http::api_handler api{system, actors.registry, cfg};
    http::http_server server{io, api, cfg};
    log_startup(cfg, server.port());
    server.run();
  } catch (const std::exception& ex) {
    std::cerr << "motorhead: " << ex.what() << "\n";
    actors.stop();
    return EXIT_FAILURE;
  }
  actors.stop();
  return EXIT_SUCCESS;
}
