#include "config/settings.hpp"

#include "config/option_values.hpp"

#include <algorithm>

#include "core/digest.hpp"
#include "core/outcome.hpp"
#include "core/session_id.hpp"
#include "core/text.hpp"
#include "core/utf8.hpp"

namespace motorhead {

namespace {

struct option_spec {
  const char* name;
  const char* default_text; // shown in --help; nullptr when there is none
  const char* meaning;
  option_value value;
  /// For a value that may hold a password or a key: what GET /settings
  /// shows of it instead (an error does not repeat it).
  std::string (*mask)(const std::string&) = nullptr;
  /// Set but empty is unset (.env files list variables without values),
  /// but where that would turn a protection off.
  bool empty_is_unset = true;
};

/// A setting whose text needs more than a kind's check (a list, a URL
/// with parts): the parser, and what it accepts in words.
option_value parsed_option(apply_fn apply, std::string allowed) {
  return {std::move(apply), std::move(allowed)};
}

std::string apply_redis_url(const std::string& text, settings& cfg) {
  auto seeds = parse_redis_seeds(text);
  if (!seeds)
    return seeds.error;
  cfg.redis_seeds = std::move(*seeds.value);
  cfg.redis = cfg.redis_seeds.front();
  cfg.redis_tls.enabled = uses_tls(text);
  return {};
}

/// The comma-separated items of `text`, trimmed; empty items are skipped.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = std::min(text.find(',', start), text.size());
    auto item = trim(std::string_view{text}.substr(start, comma - start));
    if (!item.empty())
      items.emplace_back(item);
    start = comma + 1;
  }
  return items;
}

/// "secret" or "secret:ns1|ns2". The message never repeats the secret.
outcome<api_key> parse_api_key(std::string_view item) {
  auto colon = item.find(':');
  api_key key{std::string{item.substr(0, colon)}, {}};
  if (key.secret.empty())
    return outcome<api_key>::failure("has an entry with an empty key");
  key.scope.key = sha256_hex(key.secret);
  if (colon == std::string_view::npos)
    return {std::move(key), {}};
  key.scope.restricted = true;
  auto scope = item.substr(colon + 1);
  for (std::size_t start = 0; start <= scope.size();) {
    auto bar = std::min(scope.find('|', start), scope.size());
    auto ns = scope.substr(start, bar - start);
    if (!is_valid_identifier(ns))
      return outcome<api_key>::failure(
        "scopes a key to a namespace that is not 1 to 256 characters of "
        "letters, digits and . _ : @ -");
    key.scope.namespaces.emplace_back(ns);
    start = bar + 1;
  }
  return {std::move(key), {}};
}

std::string apply_api_keys(const std::string& text, settings& cfg) {
  cfg.api_keys.clear();
  for (const auto& item : split_list(text)) {
    auto key = parse_api_key(item);
    if (!key)
      return key.error;
    cfg.api_keys.push_back(std::move(*key.value));
  }
  // Set but empty is a mistake, not a wish to turn authentication off.
  if (cfg.api_keys.empty())
    return "names no key (unset it to serve without keys)";
  return {};
}

uint16_t port_of(const std::string& address) {
  auto parts = split_host_port(address);
  std::optional<uint64_t> port;
  if (!parts || parts->first.empty()
      || !(port = parse_whole_number(parts->second, 1, 65535)))
    return 0;
  return static_cast<uint16_t>(*port);
}

std::string apply_redis_sentinels(const std::string& text, settings& cfg) {
  cfg.redis_sentinels.clear();
  for (const auto& item : split_list(text)) {
    auto sentinel = endpoint_of(item);
    if (!sentinel)
      return sentinel.error;
    cfg.redis_sentinels.push_back(std::move(*sentinel.value));
  }
  if (cfg.redis_sentinels.empty())
    return "names no sentinel";
  return {};
}

std::string apply_cluster_peers(const std::string& text, settings& cfg) {
  cfg.cluster_peers = split_list(text);
  for (const auto& peer : cfg.cluster_peers)
    if (port_of(peer) == 0)
      return "\"" + peer + "\" is not host:port";
  return {};
}

std::string mask_all(const std::string&) { return "(hidden)"; }

/// REDIS_URL names one password for all its hosts, and a password may hold
/// any character: everything between the scheme and the last `@` goes.
std::string mask_passwords(const std::string& urls) {
  auto scheme = urls.find("://");
  auto at = urls.rfind('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme)
    return urls;
  return urls.substr(0, scheme + 3) + "(hidden)" + urls.substr(at);
}

std::string mask_url_secrets(const std::string& url) {
  return without_secrets(url);
}

std::string mask_keys(const std::string& keys) {
  auto count = split_list(keys).size();
  return std::to_string(count) + (count == 1 ? " key" : " keys") + " (hidden)";
}

std::string apply_tokenizer_dir(const std::string& path, settings& cfg) {
  if (auto err = check_readable_folder(path); !err.empty())
    return "expected a readable folder: " + err
           + " (scripts/fetch-tokenizers puts the tokenizer files in place)";
  cfg.tokenizer_dir = path;
  return {};
}

/// An origin is what a browser sends: scheme://host[:port], nothing more,
/// in lower case (a browser sends its host so).
std::string apply_cors_origins(const std::string& text, settings& cfg) {
  cfg.cors_origins.clear();
  for (const auto& origin : split_list(text)) {
    auto authority = origin.find("://");
    if (origin != "*"
        && (!is_http_url(origin)
            || origin.find_first_of("/?#@", authority + 3) != std::string::npos))
      return "\"" + origin + "\" is not * or an origin such as "
             "https://app.example.com (no path, no trailing slash)";
    cfg.cors_origins.push_back(lowercase(origin));
  }
  return {};
}

const std::vector<option_spec>& option_specs() {
  static const std::vector<option_spec> specs{
    {"PORT", "8000", "HTTP port",
     number_option(field(&settings::port), 1, 65535)},
    {"MOTORHEAD_HOST", "0.0.0.0", "address the HTTP server binds",
     host_option(field(&settings::host))},
    {"REDIS_URL", "redis://127.0.0.1:6379",
     "redis://[[user]:password@]host:port[/db] of the store of record "
     "(user and password percent-decoded); for a Redis Cluster, one or more "
     "of its nodes: redis://[:password@]host:port,host:port; rediss:// for "
     "TLS (to the sentinels and every node too)",
     parsed_option(apply_redis_url,
                   "redis:// or rediss:// URLs, comma-separated"),
     mask_passwords},
    {"MOTORHEAD_REDIS_TLS_CA", nullptr,
     "PEM file of the CAs that sign the Redis servers' certificates "
     "(default: the system's)",
     file_option(field(&settings::redis_tls, &redis_tls_options::ca_file))},
    {"MOTORHEAD_REDIS_TLS_CERT", nullptr,
     "PEM file of the client certificate a Redis that asks for one gets "
     "(mutual TLS), with MOTORHEAD_REDIS_TLS_KEY",
     file_option(
       field(&settings::redis_tls, &redis_tls_options::cert_file))},
    {"MOTORHEAD_REDIS_TLS_KEY", nullptr,
     "PEM file of that certificate's private key",
     file_option(field(&settings::redis_tls, &redis_tls_options::key_file))},
    {"MOTORHEAD_REDIS_TLS_SKIP_VERIFY", "false",
     "accepts any certificate from Redis: for tests with throwaway "
     "certificates only, never in production",
     bool_option(field(&settings::redis_tls, &redis_tls_options::skip_verify))},
    {"MOTORHEAD_REDIS_MODE", "auto",
     "single, cluster, or auto: asks the first node that answers "
     "whether it runs in cluster mode",
     choice_option(field(&settings::redis_mode),
                   {{"auto", redis_options::mode::automatic},
                    {"single", redis_options::mode::single},
                    {"cluster", redis_options::mode::cluster}})},
    {"MOTORHEAD_REDIS_TIMEOUT_MS", "2000",
     "connect and reply timeout of a Redis round trip",
     number_option(field(&settings::redis_timeout), 10, 60000)},
    {"MOTORHEAD_REDIS_SENTINELS", nullptr,
     "host:port of each Redis Sentinel, comma-separated: the store is the "
     "master they name (REDIS_URL then gives only the password and "
     "database)",
     parsed_option(apply_redis_sentinels, "host:port items, comma-separated")},
    {"MOTORHEAD_REDIS_MASTER", nullptr,
     "the master's name that the sentinels monitor",
     text_option(field(&settings::redis_master))},
    {"MOTORHEAD_REDIS_WAIT_REPLICAS", "0",
     "writes are acknowledged only once this many replicas have them "
     "(Redis WAIT); 0: once the master has them",
     number_option(field(&settings::redis_wait_replicas), 0, 100)},
    {"MOTORHEAD_REDIS_WAIT_TIMEOUT_MS", "1000",
     "how long a write waits for those replicas before it fails with 503",
     number_option(field(&settings::redis_wait_timeout), 1, 60000)},
    {"MOTORHEAD_MAX_WINDOW_SIZE", "12",
     "messages returned by GET; summarization starts above it",
     number_option(field(&settings::max_window_size), 2, 10000)},
    {"MOTORHEAD_LONG_TERM_MEMORY", "false",
     "keeps every message for /retrieval (BM25, plus embeddings with a "
     "provider)",
     bool_option(field(&settings::long_term_memory))},
    {"MOTORHEAD_ORIGINAL_LAYOUT", "true",
     "serves the sessions the original Motorhead wrote in this Redis, moving "
     "each into this server's keys when first loaded (a single Redis)",
     bool_option(field(&settings::original_layout))},
    {"MOTORHEAD_MODEL", "gpt-3.5-turbo", "chat model used for summaries",
     text_option(field(&settings::model))},
    {"MOTORHEAD_EMBEDDING_MODEL", "text-embedding-3-small",
     "embedding model of long-term memory (with a provider)",
     text_option(field(&settings::embedding_model))},
    {"MOTORHEAD_EMBEDDING_BATCH", "100", "messages embedded per provider call",
     number_option(field(&settings::embedding_batch), 1, 2048)},
    {"OPENAI_API_KEY", nullptr, "key for the OpenAI-compatible provider",
     text_option(field(&settings::openai_api_key)), mask_all},
    {"OPENAI_API_BASE", default_openai_api_base,
     "any OpenAI-compatible endpoint (vLLM, Ollama, LiteLLM...); setting it "
     "alone, without a key, enables the provider too",
     url_option(field(&settings::openai_api_base)), mask_url_secrets},
    {"AZURE_API_KEY", nullptr, "Azure OpenAI key",
     text_option(field(&settings::azure_api_key)), mask_all},
    {"AZURE_API_BASE", nullptr, "Azure OpenAI resource URL",
     url_option(field(&settings::azure_api_base)), mask_url_secrets},
    {"AZURE_DEPLOYMENT_ID", nullptr, "Azure chat deployment",
     text_option(field(&settings::azure_deployment_id))},
    {"AZURE_DEPLOYMENT_ID_ADA", nullptr, "Azure embedding deployment",
     text_option(field(&settings::azure_deployment_id_ada))},
    {"AZURE_API_VERSION", "2023-05-15", "api-version of Azure OpenAI calls",
     text_option(field(&settings::azure_api_version))},
    {"MOTORHEAD_PROVIDER_TIMEOUT_MS", "60000",
     "time a provider call may take before it is retried",
     number_option(field(&settings::provider_timeout), 10, 600000)},
    {"MOTORHEAD_PROVIDER_MAX_ATTEMPTS", "5",
     "attempts of one provider call before the fold is retried later",
     number_option(field(&settings::provider_max_attempts), 1, 100)},
    {"MOTORHEAD_PROVIDER_RETRY_BASE_MS", "500",
     "first retry delay; it doubles with each attempt, with jitter",
     number_option(field(&settings::provider_retry_base), 1, 60000)},
    {"MOTORHEAD_PROVIDER_RPM", "0", "provider requests per minute (0: no limit)",
     number_option(field(&settings::provider_rpm), 0, 100000000)},
    {"MOTORHEAD_PROVIDER_TPM", "0", "provider tokens per minute (0: no limit)",
     number_option(field(&settings::provider_tpm), 0, 10000000000ull)},
    {"MOTORHEAD_SUMMARY_PROMPT_FILE", nullptr,
     "file with the summary prompt; {summary} and {new_lines} stand for the "
     "previous summary and the lines to fold",
     file_option(field(&settings::summary_prompt_file))},
    {"MOTORHEAD_MODEL_CONTEXT_TOKENS", "4096",
     "tokens the model reads and writes in one call; longer folds are split",
     number_option(field(&settings::model_context_tokens), 256, 10000000)},
    {"MOTORHEAD_SUMMARY_MAX_TOKENS", "512", "tokens kept for the model's summary",
     number_option(field(&settings::summary_max_tokens), 16, 100000)},
    {"MOTORHEAD_TOKENIZER_DIR", MOTORHEAD_DEFAULT_TOKENIZER_DIR,
     "folder of the tiktoken rank files (scripts/fetch-tokenizers)",
     parsed_option(apply_tokenizer_dir, "a readable folder")},
    {"MOTORHEAD_TOKENIZER", nullptr,
     "encoding: cl100k_base, o200k_base or p50k_base (default: the model's)",
     choice_option<std::string>(field(&settings::tokenizer),
                                {{"cl100k_base", "cl100k_base"},
                                 {"o200k_base", "o200k_base"},
                                 {"p50k_base", "p50k_base"}})},
    {"MOTORHEAD_SESSION_IDLE_SECONDS", "300",
     "seconds without requests before a session actor is stopped",
     number_option(field(&settings::session_idle), 1, 86400)},
    {"MOTORHEAD_SESSION_TTL_SECONDS", "0",
     "sessions without a POST or PATCH for this long are deleted, with "
     "their archive and vectors (0: kept for good)",
     number_option(field(&settings::session_ttl), 0, 100u * 365 * 86400)},
    {"MOTORHEAD_MAX_SESSIONS", "0",
     "live session actors at most (0: no bound); beyond it the least "
     "recently used idle ones stop first",
     number_option(field(&settings::max_sessions), 0, 1u << 30)},
    {"MOTORHEAD_REQUEST_TIMEOUT_MS", "10000",
     "time an HTTP request may wait for the actors (a long POST, for its "
     "token count too) before a 504",
     number_option(field(&settings::request_timeout), 10, 600000)},
    {"MOTORHEAD_SHUTDOWN_TIMEOUT_MS", "10000",
     "at SIGTERM, time to answer the requests in flight, leave the cluster "
     "and flush the writes before the process exits",
     number_option(field(&settings::shutdown_timeout), 0, 600000)},
    {"MOTORHEAD_MAX_BODY_BYTES", "1048576", "largest request body accepted",
     number_option(field(&settings::max_body_bytes), 1024, 64u << 20)},
    {"MOTORHEAD_READ_TIMEOUT_MS", "10000",
     "time a request may take to arrive, header and body, from its first "
     "byte; a slower client is disconnected",
     number_option(field(&settings::read_timeout), 100, 600000)},
    {"MOTORHEAD_FIRST_BYTE_TIMEOUT_MS", "5000",
     "time a new connection may take to send the first byte of its first "
     "request; a connection between requests waits up to 60 s",
     number_option(field(&settings::first_byte_timeout), 100, 600000)},
    {"MOTORHEAD_MAX_CONNECTIONS", "10000",
     "open client connections at most; a new one beyond it closes the "
     "connection waiting longest for a request, or, when every one is "
     "working, gets a 503 once its request is read",
     number_option(field(&settings::max_connections), 1, 1000000)},
    {"MOTORHEAD_MAX_MESSAGES_PER_POST", "1000",
     "messages one POST may carry (413 above)",
     number_option(field(&settings::max_messages_per_post), 1, 1000000)},
    {"MOTORHEAD_MAX_MESSAGE_BYTES", "262144",
     "bytes of one message's content at most (413 above)",
     number_option(field(&settings::max_message_bytes), 16, 64u << 20)},
    {"MOTORHEAD_MAX_METADATA_BYTES", "4096",
     "bytes of a message's metadata object, as compact JSON; more is "
     "refused with 400",
     number_option(field(&settings::max_metadata_bytes), 2, 1u << 20)},
    {"MOTORHEAD_QUERY_MAX_BYTES", "16384",
     "bytes of a retrieval's text at most (400 above)",
     number_option(field(&settings::query_max_bytes), 1, 1u << 20)},
    {"MOTORHEAD_QUERY_MAX_TERMS", "256",
     "distinct terms of a retrieval's text at most (400 above)",
     number_option(field(&settings::query_max_terms), 1, 65536)},
    {"MOTORHEAD_FILTER_MAX_ROLES", "16",
     "roles a retrieval's filter may list at most (400 above)",
     number_option(field(&settings::filter_max_roles), 1, 4096)},
    {"MOTORHEAD_FILTER_MAX_METADATA", "16",
     "metadata members a retrieval's filter may name at most (400 above)",
     number_option(field(&settings::filter_max_metadata), 1, 4096)},
    {"MOTORHEAD_ACTOR_THREADS", "0",
     "threads running the actors (0: half the hardware threads, at least "
     "one); the HTTP front has one more",
     number_option(field(&settings::actor_threads), 0, 256)},
    {"MOTORHEAD_SUMMARIZER_CONCURRENCY", "8", "summaries computed at once",
     number_option(field(&settings::summarizer_concurrency), 1, 1024)},
    {"MOTORHEAD_SUMMARIZER_QUEUE", "1024",
     "fold jobs waiting at most; past it sessions retry later",
     number_option(field(&settings::summarizer_queue), 1, 1000000)},
    {"MOTORHEAD_SUMMARY_MAX_CHARS", "1200",
     "length budget of the built-in summarizer's summary",
     number_option(field(&settings::summary_max_chars), 64, 100000)},
    {"MOTORHEAD_CLUSTER_PEERS", nullptr,
     "optional seeds, host:port of other nodes to connect to; nodes find "
     "each other through the membership table in their shared Redis",
     parsed_option(apply_cluster_peers, "host:port items, comma-separated")},
    {"MOTORHEAD_CLUSTER_HOST", nullptr,
     "interface the cluster port binds to (default: the advertised host, "
     "else 127.0.0.1; 0.0.0.0 only with MOTORHEAD_CLUSTER_ADVERTISE)",
     host_option(field(&settings::cluster_host))},
    {"MOTORHEAD_CLUSTER_PORT", "0",
     "port this node's actors listen on for its peers (0: an ephemeral port)",
     number_option(field(&settings::cluster_port), 0, 65535)},
    {"MOTORHEAD_NODE_NAME", nullptr,
     "older name of MOTORHEAD_CLUSTER_ADVERTISE",
     text_option(field(&settings::node_name))},
    {"MOTORHEAD_CLUSTER_ADVERTISE", nullptr,
     "host:port the other nodes reach this node's cluster port at (needed "
     "across hosts; default: the bound host and port)",
     text_option(field(&settings::node_name))},
    {"MOTORHEAD_CLUSTER_TLS_CERT", nullptr,
     "PEM certificate (chain) of this node, for mutual TLS between nodes",
     file_option(field(&settings::cluster_tls_cert)), nullptr,
     false},
    {"MOTORHEAD_CLUSTER_TLS_KEY", nullptr, "PEM private key of that certificate",
     file_option(field(&settings::cluster_tls_key)), nullptr,
     false},
    {"MOTORHEAD_CLUSTER_TLS_CA", nullptr,
     "PEM certificate of the CA every node's certificate must come from",
     file_option(field(&settings::cluster_tls_ca)), nullptr,
     false},
    {"MOTORHEAD_CLUSTER_HEARTBEAT_MS", "500", "heartbeat interval between nodes",
     number_option(field(&settings::cluster_heartbeat), 10, 60000)},
    {"MOTORHEAD_CLUSTER_FAILURE_MS", "2000",
     "a node that a majority of the others cannot reach, or that cannot "
     "renew its lease in Redis, for this long leaves the membership",
     number_option(field(&settings::cluster_failure), 50, 600000)},
    {"MOTORHEAD_CLUSTER_LEASE_MS", nullptr,
     "how long a node serves its sessions from memory after a renewal of "
     "its lease in Redis (renewed every heartbeat); at most the failure "
     "time, which it is by default",
     number_option(field(&settings::cluster_lease), 50, 600000)},
    {"MOTORHEAD_API_KEYS", nullptr,
     "comma-separated keys; when set, every route but health needs one "
     "(Authorization: Bearer <key>, x-metal-api-key: <key> or /key/<key>/ "
     "before the route); key:ns1|ns2 scopes a key to those namespaces",
     parsed_option(apply_api_keys,
                   "key or key:namespace|namespace items, comma-separated"),
     mask_keys, false},
    {"MOTORHEAD_CORS_ORIGINS", nullptr,
     "comma-separated origins browser pages may call the API from, or *; "
     "unset: no CORS headers",
     parsed_option(apply_cors_origins,
                   "* or origins such as https://app.example.com:8443, "
                   "comma-separated")},
    {"MOTORHEAD_DATA_ENVELOPE", "true",
     "GET memory also carries its fields under \"data\" (Flowise reads "
     "only data.messages)",
     bool_option(field(&settings::data_envelope))},
    {"MOTORHEAD_LOG_LEVEL", "info",
     "least severe records written: debug (one line per request), info, "
     "warn or error",
     choice_option(field(&settings::log_min),
                   {{"debug", log_level::debug},
                    {"info", log_level::info},
                    {"warn", log_level::warn},
                    {"error", log_level::error}})},
    {"MOTORHEAD_LOG_CLIENT_ERRORS", "info",
     "level of the line logged for a request answered 4xx (the server's "
     "own errors, 5xx, are logged once per burst at warn or error)",
     choice_option(field(&settings::log_client_errors),
                   {{"info", log_level::info}, {"debug", log_level::debug}})},
    {"MOTORHEAD_LOG_FORMAT", "text",
     "text (\"<time> <LEVEL> <component>: <message> name=value ...\") or json "
     "(one object per line)",
     choice_option(field(&settings::log_output),
                   {{"text", log_format::text}, {"json", log_format::json}})},
  };
  return specs;
}

} // namespace

namespace {

std::string check_redis_topology(const settings& cfg) {
  bool several = cfg.redis_seeds.size() > 1;
  if (several && (cfg.redis_mode == redis_options::mode::single
                  || !cfg.redis_sentinels.empty()))
    return "REDIS_URL names several hosts, which only a Redis Cluster has";
  if (cfg.redis_mode == redis_options::mode::cluster
      && !cfg.redis_sentinels.empty())
    return "Sentinel watches a single Redis with replicas, not a Redis "
           "Cluster: set MOTORHEAD_REDIS_SENTINELS or "
           "MOTORHEAD_REDIS_MODE=cluster, not both";
  if (cfg.redis_mode == redis_options::mode::cluster && cfg.redis.database != 0)
    return "a Redis Cluster has only database 0 (REDIS_URL names another)";
  // A WAIT answers after its timeout at the latest: a reply timeout that
  // runs out first would drop the connection, and every write waiting
  // for a lagging replica with it.
  if (cfg.redis_wait_replicas > 0 && cfg.redis_wait_timeout >= cfg.redis_timeout)
    return "MOTORHEAD_REDIS_WAIT_TIMEOUT_MS must be below "
           "MOTORHEAD_REDIS_TIMEOUT_MS";
  return {};
}

/// TLS to Redis: its options only with rediss://, and files that load.
std::string check_redis_tls_settings(const redis_tls_options& tls) {
  bool tuned = !tls.ca_file.empty() || !tls.cert_file.empty()
               || !tls.key_file.empty() || tls.skip_verify;
  if (!tls.enabled)
    return tuned ? "MOTORHEAD_REDIS_TLS_* are set, but REDIS_URL is not "
                   "rediss://"
                 : "";
  if (auto err = check_redis_tls(tls); !err.empty())
    return "Redis TLS: " + err;
  return {};
}

/// Azure OpenAI needs its key, its resource and a chat deployment, and an
/// embedding deployment for long-term memory: a part of them is a mistake
/// that would otherwise fall back to the built-in summarizer unnoticed.
std::string check_azure(const settings& cfg) {
  bool any = !cfg.azure_api_key.empty() || !cfg.azure_api_base.empty()
             || !cfg.azure_deployment_id.empty()
             || !cfg.azure_deployment_id_ada.empty();
  if (!any)
    return {};
  std::vector<std::string> missing;
  if (cfg.azure_api_key.empty())
    missing.emplace_back("AZURE_API_KEY");
  if (cfg.azure_api_base.empty())
    missing.emplace_back("AZURE_API_BASE");
  if (cfg.azure_deployment_id.empty())
    missing.emplace_back("AZURE_DEPLOYMENT_ID");
  if (cfg.azure_deployment_id_ada.empty() && cfg.long_term_memory)
    missing.emplace_back("AZURE_DEPLOYMENT_ID_ADA");
  if (missing.empty())
    return {};
  return "Azure OpenAI is partly configured: " + listed(missing, "and")
         + (missing.size() == 1 ? " is" : " are")
         + " missing (or unset every AZURE_* variable)";
}

bool is_set(const settings& cfg, std::string_view name) {
  return std::any_of(cfg.shown.begin(), cfg.shown.end(),
                     [&](const shown_setting& s) { return s.name == name && s.set; });
}

/// Settings that are valid but have no effect where they are.
std::vector<std::string> unused_settings(const settings& cfg) {
  std::vector<std::string> warnings;
  auto unused = [&](const std::string& names, const std::string& why) {
    warnings.push_back(names + " not used: " + why);
  };
  bool azure = !cfg.azure_api_key.empty();
  std::vector<std::string> openai;
  for (const char* name : {"OPENAI_API_KEY", "OPENAI_API_BASE"})
    if (is_set(cfg, name))
      openai.emplace_back(name);
  if (azure && !openai.empty())
    unused(listed(openai, "and") + (openai.size() > 1 ? " are" : " is"),
           "Azure OpenAI is configured");
  if (!azure && openai.empty() && is_set(cfg, "MOTORHEAD_SUMMARY_PROMPT_FILE"))
    unused("MOTORHEAD_SUMMARY_PROMPT_FILE is",
           "no model provider is configured (OPENAI_API_KEY, OPENAI_API_BASE "
           "or AZURE_*)");
  if (!cfg.long_term_memory && is_set(cfg, "MOTORHEAD_EMBEDDING_MODEL"))
    unused("MOTORHEAD_EMBEDDING_MODEL is",
           "MOTORHEAD_LONG_TERM_MEMORY is off");
  if (cfg.redis_wait_replicas == 0
      && is_set(cfg, "MOTORHEAD_REDIS_WAIT_TIMEOUT_MS"))
    unused("MOTORHEAD_REDIS_WAIT_TIMEOUT_MS is",
           "MOTORHEAD_REDIS_WAIT_REPLICAS is 0");
  if (is_set(cfg, "MOTORHEAD_NODE_NAME")
      && is_set(cfg, "MOTORHEAD_CLUSTER_ADVERTISE"))
    unused("MOTORHEAD_NODE_NAME (its older name) is",
           "MOTORHEAD_CLUSTER_ADVERTISE is set");
  return warnings;
}

/// What GET /settings shows of a setting: its value with secrets masked,
/// or its default.
shown_setting shown_setting_of(const option_spec& spec, const char* text) {
  if (text == nullptr)
    return {spec.name, spec.default_text ? spec.default_text : "", false};
  // The environment may hold any bytes; the answer is JSON.
  return {spec.name, to_valid_utf8(spec.mask ? spec.mask(text) : text), true};
}

} // namespace

redis_options redis_options_of(const settings& cfg) {
  redis_options options;
  options.topology = cfg.redis_mode;
  options.target = {cfg.redis, cfg.redis_sentinels, cfg.redis_master,
                    cfg.redis_tls};
  options.seeds = cfg.redis_seeds;
  options.timeout = cfg.redis_timeout;
  options.wait = {cfg.redis_wait_replicas, cfg.redis_wait_timeout};
  return options;
}

settings_result load_settings(const env_lookup& lookup) {
  settings_result result;
  result.value.tokenizer_dir = MOTORHEAD_DEFAULT_TOKENIZER_DIR;
  bool azure_invalid = false; // then it is not also called missing
  for (const auto& spec : option_specs()) {
    const char* text = lookup(spec.name);
    if (text != nullptr && *text == '\0' && spec.empty_is_unset)
      text = nullptr;
    result.value.shown.push_back(shown_setting_of(spec, text));
    if (text == nullptr)
      continue;
    if (auto err = spec.value.apply(text, result.value); !err.empty()) {
      // A value that may hold a secret is not repeated: a malformed one
      // cannot be masked with certainty.
      result.errors.push_back(std::string{"invalid "} + spec.name
                              + (spec.mask ? std::string{}
                                           : "=\"" + std::string{text} + "\"")
                              + ": " + err);
      azure_invalid = azure_invalid
                      || std::string_view{spec.name}.substr(0, 6) == "AZURE_";
    }
  }
  if (result.errors.empty()
      && result.value.redis_sentinels.empty()
           != result.value.redis_master.empty())
    result.errors.push_back("MOTORHEAD_REDIS_SENTINELS and "
                            "MOTORHEAD_REDIS_MASTER go together");
  if (result.errors.empty())
    if (auto err = check_redis_topology(result.value); !err.empty())
      result.errors.push_back(err);
  if (result.errors.empty())
    if (auto err = check_redis_tls_settings(result.value.redis_tls);
        !err.empty())
      result.errors.push_back(err);
  if (result.errors.empty())
    if (auto err = resolve_cluster_identity(result.value); !err.empty())
      result.errors.push_back(err);
  if (!azure_invalid)
    if (auto err = check_azure(result.value); !err.empty())
      result.errors.push_back(err);
  result.warnings = unused_settings(result.value);
  return result;
}

std::vector<std::string>
unknown_variable_warnings(const std::vector<std::string>& names) {
  std::vector<std::string> known;
  for (const auto& spec : option_specs())
    known.emplace_back(spec.name);
  std::vector<std::string> warnings;
  for (const auto& name : names)
    if (name.rfind("MOTORHEAD_", 0) == 0
        && std::find(known.begin(), known.end(), name) == known.end())
      warnings.push_back("unknown variable " + name + " is ignored (did you "
                         "mean " + closest_name(name, known) + "?)");
  return warnings;
}

/// TLS between nodes takes a certificate, its key and a CA (main loads
/// and checks them: load_tls_credentials).
std::string check_cluster_tls(const settings& cfg) {
  auto given = !cfg.cluster_tls_cert.empty() + !cfg.cluster_tls_key.empty()
               + !cfg.cluster_tls_ca.empty();
  if (given == 0)
    return {};
  if (given < 3)
    return "MOTORHEAD_CLUSTER_TLS_CERT, _KEY and _CA go together";
  return {};
}

std::string resolve_cluster_identity(settings& cfg) {
  // A node that misses heartbeats for half the failure time assumes its
  // peers declared it dead; its own heartbeats must come more often.
  if (cfg.cluster_heartbeat * 2 >= cfg.cluster_failure)
    return "MOTORHEAD_CLUSTER_HEARTBEAT_MS must be below half of "
           "MOTORHEAD_CLUSTER_FAILURE_MS";
  // Renewals come every heartbeat: a lease must outlast a few of them. A
  // node that lost its lease is declared dead after the failure time; a
  // longer lease would keep its sessions unserved longer still.
  if (cfg.cluster_lease.count() == 0)
    cfg.cluster_lease = cfg.cluster_failure;
  if (cfg.cluster_heartbeat * 2 >= cfg.cluster_lease
      || cfg.cluster_lease > cfg.cluster_failure)
    return "MOTORHEAD_CLUSTER_LEASE_MS must be over twice "
           "MOTORHEAD_CLUSTER_HEARTBEAT_MS and at most "
           "MOTORHEAD_CLUSTER_FAILURE_MS";
  if (cfg.node_name.empty() && cfg.cluster_port != 0)
    for (const auto& peer : cfg.cluster_peers) {
      if (port_of(peer) != cfg.cluster_port)
        continue;
      if (!cfg.node_name.empty())
        return "several peers use port " + std::to_string(cfg.cluster_port)
               + ": set MOTORHEAD_CLUSTER_ADVERTISE";
      cfg.node_name = peer;
    }
  if (!cfg.node_name.empty() && port_of(cfg.node_name) == 0)
    return "MOTORHEAD_CLUSTER_ADVERTISE \"" + cfg.node_name
           + "\" is not host:port";
  // The advertised port is the one to bind unless told otherwise (behind
  // a port mapping, both are set).
  if (!cfg.node_name.empty() && cfg.cluster_port == 0)
    cfg.cluster_port = port_of(cfg.node_name);
  if (cfg.cluster_host.empty())
    cfg.cluster_host = cfg.node_name.empty()
                         ? "127.0.0.1"
                         : std::string{split_host_port(cfg.node_name)->first};
  if (auto err = check_cluster_tls(cfg); !err.empty())
    return err;
  bool every_interface = cfg.cluster_host == "0.0.0.0"
                         || cfg.cluster_host == "::";
  if (every_interface && cfg.node_name.empty())
    return "MOTORHEAD_CLUSTER_HOST=" + cfg.cluster_host
           + " binds every interface: set MOTORHEAD_CLUSTER_ADVERTISE to the "
             "host:port the other nodes reach this one at";
  return {};
}

void print_usage(std::ostream& out) {
  out << "usage: motorhead [--help | --version]\n"
         "       motorhead --check-health [URL]   (exit 0 when URL, by "
         "default\n"
         "                                         http://127.0.0.1:$PORT/readyz,"
         " answers 2xx)\n"
         "       motorhead migrate [--dry-run] [--vectors-model NAME]"
         " (see migrate --help)\n\n"
         "Motörhead: memory and retrieval server for LLM chat applications.\n"
         "Configured through these environment variables:\n\n";
  for (const auto& spec : option_specs()) {
    out << "  " << spec.name << "\n      " << spec.meaning << "\n";
    if (!spec.value.allowed.empty())
      out << "      allowed: " << spec.value.allowed << "\n";
    if (spec.default_text != nullptr)
      out << "      default: " << spec.default_text << "\n";
  }
}

} // namespace motorhead
