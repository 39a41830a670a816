// Server configuration, read from the environment (the original's variable
// names and defaults, plus ours).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "core/memory_types.hpp"
#include "storage/redis_client.hpp"

namespace motorhead {

/// One of MOTORHEAD_API_KEYS: the secret and, for "secret:ns1|ns2", the
/// namespaces it is scoped to.
struct api_key {
  std::string secret;
  access_scope scope;
};

constexpr const char* default_openai_api_base = "https://api.openai.com/v1";

struct settings {
  std::string host = "0.0.0.0";
  uint16_t port = 8000;
  redis_endpoint redis; // the first of redis_seeds
  std::vector<redis_endpoint> redis_seeds{redis}; // every node REDIS_URL names
  redis_options::mode redis_mode = redis_options::mode::automatic;
  std::chrono::milliseconds redis_timeout{2000};
  std::vector<redis_endpoint> redis_sentinels; // host and port of each
  std::string redis_master; // the name the sentinels monitor
  std::size_t redis_wait_replicas = 0; // WAIT for this many after writes
  std::chrono::milliseconds redis_wait_timeout{1000};
  redis_tls_options redis_tls; // on with rediss://
  std::size_t max_window_size = 12;
  bool long_term_memory = false;
  /// Whether sessions the original Motorhead wrote are read (and moved).
  bool original_layout = true;
  std::string model = "gpt-3.5-turbo";
  std::string embedding_model = "text-embedding-3-small";
  std::size_t embedding_batch = 100;
  std::string openai_api_key;
  std::string openai_api_base; // empty: OpenAI's, when a key is set
  std::string azure_api_key;
  std::string azure_api_base;
  std::string azure_deployment_id;
  std::string azure_deployment_id_ada;
  std::string azure_api_version = "2023-05-15";
  std::chrono::milliseconds provider_timeout{60000};
  unsigned provider_max_attempts = 5;
  std::chrono::milliseconds provider_retry_base{500};
  uint64_t provider_rpm = 0;
  uint64_t provider_tpm = 0;
  std::string summary_prompt_file;
  std::size_t model_context_tokens = 4096;
  uint32_t summary_max_tokens = 512;
  std::string tokenizer_dir;
  std::string tokenizer; // empty: the model's encoding
  std::chrono::seconds session_idle{300};
  std::chrono::seconds session_ttl{0}; // retention; 0: sessions stay
  std::size_t max_sessions = 0; // live session actors at most; 0: no bound
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds shutdown_timeout{10000};
  std::size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds first_byte_timeout{5000};
  std::size_t max_connections = 10000;
  std::size_t max_messages_per_post = 1000;
  std::size_t max_message_bytes = 256 * 1024;
  std::size_t max_metadata_bytes = 4096; // a message's metadata, as JSON
  // A retrieval's bounds: its text, its distinct terms, and its filter's
  // roles and metadata members.
  std::size_t query_max_bytes = 16384;
  std::size_t query_max_terms = 256;
  std::size_t filter_max_roles = 16;
  std::size_t filter_max_metadata = 16;
  std::size_t summarizer_concurrency = 8;
  std::size_t actor_threads = 0; // CAF's workers; 0: one per hardware thread
  std::size_t summarizer_queue = 1024;
  std::size_t summary_max_chars = 1200;
  std::vector<api_key> api_keys;
  std::vector<std::string> cluster_peers; // seeds: host:port of other nodes
  std::string cluster_host;               // to bind the cluster port to
  uint16_t cluster_port = 0;              // 0: an ephemeral port
  std::string node_name; // host:port its peers reach it at; "" until bound
  /// Mutual TLS between nodes: this node's certificate chain and key, and
  /// the CA a peer's certificate must come from; all three or none.
  std::string cluster_tls_cert;
  std::string cluster_tls_key;
  std::string cluster_tls_ca;
  std::chrono::milliseconds cluster_heartbeat{500};
  std::chrono::milliseconds cluster_failure{2000};
  std::chrono::milliseconds cluster_lease{0}; // 0: the failure time
  bool data_envelope = true;
  std::vector<std::string> cors_origins; // empty: CORS off
  log_level log_min = log_level::info;
  log_format log_output = log_format::text;
  log_level log_client_errors = log_level::info; // answers 4xx

  /// Every variable, in --help's order, as GET /settings shows it.
  std::vector<shown_setting> shown;

  bool cluster_tls() const { return !cluster_tls_cert.empty(); }
};

/// Reads one variable; returns nullptr when it is unset.
using env_lookup = std::function<const char*(const char*)>;

struct settings_result {
  settings value;
  std::vector<std::string> errors; // one line per invalid variable
  std::vector<std::string> warnings; // settings that have no effect
};

/// Builds the settings from the environment; every invalid value is
/// reported, not just the first.
settings_result load_settings(const env_lookup& lookup);

/// A warning for each of `names` (the environment's variables) that looks
/// like a setting, MOTORHEAD_*, but is none, naming the closest setting.
std::vector<std::string>
unknown_variable_warnings(const std::vector<std::string>& names);

/// How the persistence actor reaches Redis, from the REDIS_* settings.
redis_options redis_options_of(const settings& cfg);

/// The cluster settings' own consistency: the address this node is reached
/// at (MOTORHEAD_CLUSTER_ADVERTISE, or the one seed with this node's port),
/// the interface to bind (MOTORHEAD_CLUSTER_HOST, else the advertised
/// host, else loopback; every interface only when asked for, and then with
/// an address to advertise). Returns an error or "".
std::string resolve_cluster_identity(settings& cfg);

/// Writes the `--help` text: every variable, its default and its meaning.
void print_usage(std::ostream& out);

} // namespace motorhead
