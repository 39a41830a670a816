#include "config/settings.hpp"

#include <map>
#include <sstream>

#include <gtest/gtest.h>

using namespace motorhead;

namespace {

settings_result load(const std::map<std::string, std::string>& env) {
  return load_settings([&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

std::vector<std::string> secrets(const std::vector<api_key>& keys) {
  std::vector<std::string> out;
  for (const auto& key : keys)
    out.push_back(key.secret);
  return out;
}

} // namespace

TEST(Settings, DefaultsAreTheOriginals) {
  auto result = load({});
  ASSERT_TRUE(result.errors.empty());
  const auto& cfg = result.value;
  EXPECT_EQ(cfg.port, 8000);
  EXPECT_EQ(cfg.max_window_size, 12u);
  EXPECT_FALSE(cfg.long_term_memory);
  EXPECT_EQ(cfg.model, "gpt-3.5-turbo");
  EXPECT_EQ(cfg.openai_api_base, "");
  EXPECT_FALSE(cfg.tokenizer_dir.empty());
  EXPECT_EQ(cfg.redis.host, "127.0.0.1");
  EXPECT_EQ(cfg.redis.port, 6379);
  EXPECT_EQ(cfg.session_idle.count(), 300);
}

TEST(Settings, ReadsTheEnvironment) {
  auto result = load({{"PORT", "9001"},
                      {"REDIS_URL", "redis://:secret@cache.local:6380/2"},
                      {"MOTORHEAD_MAX_WINDOW_SIZE", "20"},
                      {"MOTORHEAD_LONG_TERM_MEMORY", "TRUE"},
                      {"MOTORHEAD_SESSION_IDLE_SECONDS", "5"},
                      {"MOTORHEAD_API_KEYS", "k1,,k2"}});
  ASSERT_TRUE(result.errors.empty());
  const auto& cfg = result.value;
  EXPECT_EQ(cfg.port, 9001);
  EXPECT_EQ(cfg.redis.host, "cache.local");
  EXPECT_EQ(cfg.redis.port, 6380);
  EXPECT_EQ(cfg.redis.password, "secret");
  EXPECT_EQ(cfg.redis.database, 2);
  EXPECT_EQ(cfg.max_window_size, 20u);
  EXPECT_TRUE(cfg.long_term_memory);
  EXPECT_EQ(cfg.session_idle.count(), 5);
  EXPECT_EQ(secrets(cfg.api_keys), (std::vector<std::string>{"k1", "k2"}));
}

TEST(Settings, ReportsEveryInvalidValue) {
  auto result = load({{"PORT", "http"},
                      {"MOTORHEAD_MAX_WINDOW_SIZE", "1"},
                      {"MOTORHEAD_LONG_TERM_MEMORY", "maybe"},
                      {"REDIS_URL", "http://localhost"}});
  ASSERT_EQ(result.errors.size(), 4u);
  EXPECT_NE(result.errors[0].find("PORT"), std::string::npos);
}

TEST(Settings, RedisUrlVariants) {
  auto plain = parse_redis_url("redis://localhost");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain.value->port, 6379);
  EXPECT_FALSE(parse_redis_url("redis://host:0"));
  EXPECT_FALSE(parse_redis_url("redis://host:99999"));
  EXPECT_FALSE(parse_redis_url("redis://host/99"));
  EXPECT_FALSE(parse_redis_url("redis://"));
  auto secured = load({{"REDIS_URL", "rediss://:pw@redis.example:6380/2"}});
  ASSERT_TRUE(secured.errors.empty());
  EXPECT_TRUE(secured.value.redis_tls.enabled);
  EXPECT_EQ(secured.value.redis.host, "redis.example");
  EXPECT_EQ(secured.value.redis.port, 6380);
  EXPECT_EQ(secured.value.redis.password, "pw");
  EXPECT_FALSE(load({}).value.redis_tls.enabled);
  EXPECT_FALSE(parse_redis_url("redisss://host"));
}

TEST(Settings, RedisTlsOptionsNeedRediss) {
  auto result = load({{"MOTORHEAD_REDIS_TLS_SKIP_VERIFY", "true"}});
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].find("not rediss://"), std::string::npos);
  auto missing = load({{"REDIS_URL", "rediss://host"},
                       {"MOTORHEAD_REDIS_TLS_CA", "/nonexistent/ca.pem"}});
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_NE(missing.errors[0].find(
              "invalid MOTORHEAD_REDIS_TLS_CA=\"/nonexistent/ca.pem\": "
              "expected a readable file: No such file or directory"),
            std::string::npos);
}

TEST(Settings, HelpListsEveryVariable) {
  std::ostringstream out;
  print_usage(out);
  for (auto name : {"PORT", "REDIS_URL", "MOTORHEAD_MAX_WINDOW_SIZE",
                    "MOTORHEAD_LONG_TERM_MEMORY", "MOTORHEAD_MODEL",
                    "OPENAI_API_KEY", "OPENAI_API_BASE", "AZURE_API_KEY",
                    "AZURE_API_BASE", "AZURE_DEPLOYMENT_ID",
                    "AZURE_DEPLOYMENT_ID_ADA", "MOTORHEAD_SESSION_IDLE_SECONDS"})
    EXPECT_NE(out.str().find(name), std::string::npos) << name;
}

TEST(Settings, ClusterDefaultsToLoopbackAndAnEphemeralPort) {
  auto result = load({});
  ASSERT_TRUE(result.errors.empty()) << result.errors[0];
  EXPECT_EQ(result.value.cluster_host, "127.0.0.1");
  EXPECT_EQ(result.value.cluster_port, 0);
  EXPECT_EQ(result.value.node_name, ""); // the bound port decides
  auto advertised = load({{"MOTORHEAD_CLUSTER_ADVERTISE", "node-2.internal:7000"}});
  ASSERT_TRUE(advertised.errors.empty());
  EXPECT_EQ(advertised.value.cluster_host, "node-2.internal");
  // Every interface only when asked for, and never without an address.
  auto everywhere = load({{"MOTORHEAD_CLUSTER_HOST", "0.0.0.0"}});
  ASSERT_EQ(everywhere.errors.size(), 1u);
  EXPECT_NE(everywhere.errors[0].find("MOTORHEAD_CLUSTER_ADVERTISE"),
            std::string::npos);
  EXPECT_TRUE(load({{"MOTORHEAD_CLUSTER_HOST", "0.0.0.0"},
                    {"MOTORHEAD_CLUSTER_ADVERTISE", "10.0.0.2:7000"}})
                .errors.empty());
  EXPECT_EQ(load({{"MOTORHEAD_CLUSTER_ADVERTISE", "node-2"}}).errors.size(), 1u);
}

TEST(Settings, AnIPv6ClusterAddressIsWrittenInBrackets) {
  auto advertised = load({{"MOTORHEAD_CLUSTER_ADVERTISE", "[fd00::2]:7000"}});
  ASSERT_TRUE(advertised.errors.empty()) << advertised.errors[0];
  EXPECT_EQ(advertised.value.cluster_host, "fd00::2");
  EXPECT_EQ(advertised.value.cluster_port, 7000);
  auto peers = load({{"MOTORHEAD_CLUSTER_PEERS", "[fd00::1]:7001,[fd00::2]:7002"},
                     {"MOTORHEAD_CLUSTER_HOST", "fd00::2"},
                     {"MOTORHEAD_CLUSTER_PORT", "7002"}});
  ASSERT_TRUE(peers.errors.empty()) << peers.errors[0];
  EXPECT_EQ(peers.value.node_name, "[fd00::2]:7002");
  EXPECT_FALSE(load({{"MOTORHEAD_CLUSTER_PEERS", "[fd00::1]"}}).errors.empty());
}

TEST(Settings, ClusterIdentityComesFromThePeers) {
  auto result = load({{"MOTORHEAD_CLUSTER_PEERS", "10.0.0.1:7001,10.0.0.2:7002"},
                      {"MOTORHEAD_CLUSTER_PORT", "7002"}});
  ASSERT_TRUE(result.errors.empty()) << result.errors[0];
  EXPECT_EQ(result.value.node_name, "10.0.0.2:7002");
  EXPECT_EQ(result.value.cluster_host, "10.0.0.2");
  auto ambiguous = load({{"MOTORHEAD_CLUSTER_PEERS", "a:7000,b:7000"},
                         {"MOTORHEAD_CLUSTER_PORT", "7000"}});
  ASSERT_EQ(ambiguous.errors.size(), 1u);
  EXPECT_NE(ambiguous.errors[0].find("MOTORHEAD_CLUSTER_ADVERTISE"),
            std::string::npos);
  auto named = load({{"MOTORHEAD_CLUSTER_PEERS", "a:7000,b:7000"},
                     {"MOTORHEAD_CLUSTER_PORT", "7000"},
                     {"MOTORHEAD_NODE_NAME", "b:7000"}});
  EXPECT_TRUE(named.errors.empty());
  // Seeds alone are fine: the node is reached at its bound port.
  EXPECT_TRUE(load({{"MOTORHEAD_CLUSTER_PEERS", "a:7000"}}).errors.empty());
  EXPECT_EQ(load({{"MOTORHEAD_CLUSTER_PEERS", "a:7000"},
                  {"MOTORHEAD_CLUSTER_PORT", "7000"},
                  {"MOTORHEAD_CLUSTER_HEARTBEAT_MS", "1000"}})
              .errors.size(),
            1u);
  EXPECT_EQ(load({{"MOTORHEAD_CLUSTER_PEERS", "a"}}).errors.size(), 1u);
}

TEST(Settings, AWaitForReplicasEndsBeforeTheReplyTimeout) {
  EXPECT_TRUE(load({{"MOTORHEAD_REDIS_WAIT_REPLICAS", "1"},
                    {"MOTORHEAD_REDIS_WAIT_TIMEOUT_MS", "1999"}})
                .errors.empty());
  auto late = load({{"MOTORHEAD_REDIS_WAIT_REPLICAS", "1"},
                    {"MOTORHEAD_REDIS_WAIT_TIMEOUT_MS", "2000"}});
  ASSERT_EQ(late.errors.size(), 1u);
  EXPECT_NE(late.errors[0].find("MOTORHEAD_REDIS_TIMEOUT_MS"),
            std::string::npos);
  // Without replicas to wait for, the WAIT timeout is not used.
  EXPECT_TRUE(load({{"MOTORHEAD_REDIS_WAIT_TIMEOUT_MS", "5000"}}).errors.empty());
}

TEST(Settings, ApiKeysAreTrimmed) {
  auto result = load({{"MOTORHEAD_API_KEYS", " k1 ,\tk2\t, "}});
  ASSERT_TRUE(result.errors.empty());
  EXPECT_EQ(secrets(result.value.api_keys),
            (std::vector<std::string>{"k1", "k2"}));
}

TEST(Settings, ApiKeysMayBeScopedToNamespaces) {
  auto result = load({{"MOTORHEAD_API_KEYS", "admin,t1key:tenant-1|team:a"}});
  ASSERT_TRUE(result.errors.empty());
  const auto& keys = result.value.api_keys;
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_FALSE(keys[0].scope.restricted);
  EXPECT_EQ(keys[1].secret, "t1key");
  EXPECT_TRUE(keys[1].scope.restricted);
  EXPECT_EQ(keys[1].scope.namespaces,
            (std::vector<std::string>{"tenant-1", "team:a"}));
  for (const char* text : {"k:", "k:ns|", "k:a b", ":ns", "k:|ns"}) {
    auto bad = load({{"MOTORHEAD_API_KEYS", text}});
    ASSERT_EQ(bad.errors.size(), 1u) << text;
    // The message names the variable, never the key.
    EXPECT_NE(bad.errors[0].find("MOTORHEAD_API_KEYS"), std::string::npos);
    EXPECT_EQ(bad.errors[0].find(text), std::string::npos) << bad.errors[0];
  }
}

TEST(Settings, ApiKeysSetButEmptyAreRefused) {
  // Turning authentication off must be explicit: unset the variable.
  for (const char* text : {"", " ", ",", " , "}) {
    auto result = load({{"MOTORHEAD_API_KEYS", text}});
    ASSERT_EQ(result.errors.size(), 1u) << '"' << text << '"';
    EXPECT_NE(result.errors[0].find("MOTORHEAD_API_KEYS"), std::string::npos);
  }
}

TEST(Settings, LogLevelAndFormat) {
  auto defaults = load({});
  EXPECT_EQ(defaults.value.log_min, log_level::info);
  EXPECT_EQ(defaults.value.log_output, log_format::text);
  auto set = load({{"MOTORHEAD_LOG_LEVEL", "debug"},
                   {"MOTORHEAD_LOG_FORMAT", "json"}});
  ASSERT_TRUE(set.errors.empty());
  EXPECT_EQ(set.value.log_min, log_level::debug);
  EXPECT_EQ(set.value.log_output, log_format::json);
  auto bad = load({{"MOTORHEAD_LOG_LEVEL", "loud"},
                   {"MOTORHEAD_LOG_FORMAT", "xml"}});
  EXPECT_EQ(bad.errors.size(), 2u);
}

TEST(Settings, AnInvalidSecretIsNotRepeated) {
  auto result = load({{"REDIS_URL", "redis://:hunter2@cache:99999"},
                      {"MOTORHEAD_MAX_WINDOW_SIZE", "x"}});
  ASSERT_EQ(result.errors.size(), 2u);
  for (const auto& err : result.errors)
    EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
  EXPECT_NE(result.errors[0].find("REDIS_URL"), std::string::npos);
  EXPECT_NE(result.errors[1].find("\"x\""), std::string::npos);
}

TEST(Settings, SentinelsAndTheMasterNameGoTogether) {
  auto result = load({{"MOTORHEAD_REDIS_SENTINELS", " s1:26379, 10.0.0.2:26380"},
                      {"MOTORHEAD_REDIS_MASTER", "mymaster"},
                      {"MOTORHEAD_REDIS_WAIT_REPLICAS", "1"}});
  ASSERT_TRUE(result.errors.empty());
  const auto& sentinels = result.value.redis_sentinels;
  ASSERT_EQ(sentinels.size(), 2u);
  EXPECT_EQ(sentinels[0].host, "s1");
  EXPECT_EQ(sentinels[1].host, "10.0.0.2");
  EXPECT_EQ(sentinels[1].port, 26380);
  EXPECT_EQ(result.value.redis_master, "mymaster");
  EXPECT_EQ(result.value.redis_wait_replicas, 1u);
  EXPECT_EQ(result.value.redis_wait_timeout.count(), 1000);

  EXPECT_EQ(load({{"MOTORHEAD_REDIS_SENTINELS", "s1:26379"}}).errors.size(), 1u);
  EXPECT_EQ(load({{"MOTORHEAD_REDIS_MASTER", "mymaster"}}).errors.size(), 1u);
  auto bad = load({{"MOTORHEAD_REDIS_SENTINELS", "s1"},
                   {"MOTORHEAD_REDIS_MASTER", "mymaster"}});
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_NE(bad.errors[0].find("host:port"), std::string::npos);
}

TEST(Settings, ARedisClusterIsNamedByItsNodes) {
  auto result = load({{"REDIS_URL", "redis://:pw@n1:7000,n2:7001"},
                      {"MOTORHEAD_REDIS_MODE", "cluster"}});
  ASSERT_TRUE(result.errors.empty()) << result.errors.front();
  ASSERT_EQ(result.value.redis_seeds.size(), 2u);
  EXPECT_EQ(result.value.redis.host, "n1");
  auto options = redis_options_of(result.value);
  EXPECT_EQ(options.topology, redis_options::mode::cluster);
  EXPECT_EQ(options.seeds[1].port, 7001);
  EXPECT_EQ(options.seeds[1].password, "pw");
  // One Redis by default, asked whether it runs a cluster.
  auto plain = load({});
  EXPECT_EQ(plain.value.redis_seeds.size(), 1u);
  EXPECT_EQ(plain.value.redis_mode, redis_options::mode::automatic);

  EXPECT_EQ(load({{"MOTORHEAD_REDIS_MODE", "sharded"}}).errors.size(), 1u);
  // Several nodes are a cluster's; a cluster has only database 0.
  EXPECT_EQ(load({{"REDIS_URL", "redis://n1,n2"},
                  {"MOTORHEAD_REDIS_MODE", "single"}})
              .errors.size(),
            1u);
  EXPECT_EQ(load({{"REDIS_URL", "redis://n1/2"},
                  {"MOTORHEAD_REDIS_MODE", "cluster"}})
              .errors.size(),
            1u);
  EXPECT_EQ(load({{"MOTORHEAD_REDIS_MODE", "cluster"},
                  {"MOTORHEAD_REDIS_SENTINELS", "s1:26379"},
                  {"MOTORHEAD_REDIS_MASTER", "m"}})
              .errors.size(),
            1u);
}

namespace {

/// The one error loading `env` gives.
std::string only_error(const std::map<std::string, std::string>& env) {
  auto result = load(env);
  EXPECT_EQ(result.errors.size(), 1u);
  return result.errors.empty() ? std::string{} : result.errors.front();
}

} // namespace

TEST(Settings, HostsAreAddressesOrNames) {
  for (const char* host : {"localhost", "0.0.0.0", "::", "::1",
                           "api.internal.example", "10.1.2.3"})
    EXPECT_TRUE(load({{"MOTORHEAD_HOST", host}}).errors.empty()) << host;
  EXPECT_EQ(only_error({{"MOTORHEAD_HOST", "local host"}}),
            "invalid MOTORHEAD_HOST=\"local host\": expected an IP address "
            "(such as 0.0.0.0 or ::) or a host name");
  EXPECT_NE(only_error({{"MOTORHEAD_CLUSTER_HOST", "-bad-"}})
              .find("MOTORHEAD_CLUSTER_HOST"),
            std::string::npos);
}

TEST(Settings, ProviderUrlsAreHttpUrls) {
  EXPECT_EQ(only_error({{"OPENAI_API_BASE", "notaurl"}}),
            "invalid OPENAI_API_BASE: expected an http:// or https:// URL");
  for (const char* url :
       {"http://127.0.0.1:11434/v1", "https://api.example.com/v1",
        "http://[::1]:8080/v1", "HTTPS://llm.internal"})
    EXPECT_TRUE(load({{"OPENAI_API_BASE", url}}).errors.empty()) << url;
  for (const char* url : {"ftp://host", "http://", "http://host:99999",
                          "http://[::1", "https://ex ample.com"})
    EXPECT_FALSE(load({{"AZURE_API_BASE", url}}).errors.empty()) << url;
}

TEST(Settings, PartialAzureNamesWhatIsMissing) {
  EXPECT_EQ(only_error({{"AZURE_API_KEY", "k"}}),
            "Azure OpenAI is partly configured: AZURE_API_BASE and "
            "AZURE_DEPLOYMENT_ID are missing (or unset every AZURE_* "
            "variable)");
  std::map<std::string, std::string> chat{
    {"AZURE_API_KEY", "k"},
    {"AZURE_API_BASE", "https://x.openai.azure.com"},
    {"AZURE_DEPLOYMENT_ID", "gpt"}};
  EXPECT_TRUE(load(chat).errors.empty());
  chat["MOTORHEAD_LONG_TERM_MEMORY"] = "true";
  EXPECT_NE(only_error(chat).find("AZURE_DEPLOYMENT_ID_ADA is missing"),
            std::string::npos);
  chat["OPENAI_API_KEY"] = "sk";
  chat["AZURE_DEPLOYMENT_ID_ADA"] = "ada";
  auto both = load(chat);
  EXPECT_TRUE(both.errors.empty());
  ASSERT_EQ(both.warnings.size(), 1u);
  EXPECT_EQ(both.warnings[0],
            "OPENAI_API_KEY is not used: Azure OpenAI is configured");
}

TEST(Settings, AnInvalidAzureVariableIsNotAlsoCalledMissing) {
  EXPECT_EQ(only_error({{"AZURE_API_KEY", "k"},
                        {"AZURE_API_BASE", "notaurl"},
                        {"AZURE_DEPLOYMENT_ID", "gpt"}}),
            "invalid AZURE_API_BASE: expected an http:// or https:// URL");
  // Another variable's mistake hides no missing one.
  auto both = load({{"AZURE_API_KEY", "k"}, {"PORT", "abc"}});
  ASSERT_EQ(both.errors.size(), 2u);
  EXPECT_NE(both.errors[1].find("partly configured"), std::string::npos);
}

TEST(Settings, ABooleanNamesEveryFormItTakes) {
  EXPECT_EQ(only_error({{"MOTORHEAD_LONG_TERM_MEMORY", "On"}}),
            "invalid MOTORHEAD_LONG_TERM_MEMORY=\"On\": expected true or "
            "false (also 1 or 0, yes or no; any case)");
  EXPECT_TRUE(load({{"MOTORHEAD_LONG_TERM_MEMORY", "Yes"}}).value.long_term_memory);
}

TEST(Settings, RedisCredentialsAreReadAsTheOriginalReadThem) {
  auto encoded = load({{"REDIS_URL", "redis://app%40corp:p%40ss%3Aw%2Frd%25@h:6379"}});
  ASSERT_TRUE(encoded.errors.empty()) << encoded.errors[0];
  EXPECT_EQ(encoded.value.redis.username, "app@corp");
  EXPECT_EQ(encoded.value.redis.password, "p@ss:w/rd%");
  // A % that encodes nothing stays, and a lone part is a user's name (no
  // AUTH without a password).
  auto raw = load({{"REDIS_URL", "redis://:100%_sure@h:6379"}});
  ASSERT_TRUE(raw.errors.empty()) << raw.errors[0];
  EXPECT_EQ(raw.value.redis.username, "");
  EXPECT_EQ(raw.value.redis.password, "100%_sure");
  auto lone = load({{"REDIS_URL", "redis://app@h:6379"}});
  EXPECT_EQ(lone.value.redis.username, "app");
  EXPECT_EQ(lone.value.redis.password, "");
}

TEST(Settings, FilesMustBeReadable) {
  EXPECT_NE(only_error({{"MOTORHEAD_SUMMARY_PROMPT_FILE", "/nonexistent"}})
              .find("invalid MOTORHEAD_SUMMARY_PROMPT_FILE=\"/nonexistent\": "
                    "expected a readable file"),
            std::string::npos);
  EXPECT_NE(only_error({{"MOTORHEAD_CLUSTER_TLS_CA", "/tmp"}})
              .find("is a folder, not a file"),
            std::string::npos);
  EXPECT_NE(only_error({{"MOTORHEAD_TOKENIZER_DIR", "/etc/hostname"}})
              .find("expected a readable folder: is not a folder"),
            std::string::npos);
  // A prompt without a provider is not an error, but it is said.
  auto unused = load({{"MOTORHEAD_SUMMARY_PROMPT_FILE", "/etc/hostname"}});
  EXPECT_TRUE(unused.errors.empty());
  ASSERT_EQ(unused.warnings.size(), 1u);
  EXPECT_NE(unused.warnings[0].find("no model provider"), std::string::npos);
}

TEST(Settings, ChoicesAreListedAndTakenInAnyCase) {
  EXPECT_EQ(only_error({{"MOTORHEAD_TOKENIZER", "gpt2"}}),
            "invalid MOTORHEAD_TOKENIZER=\"gpt2\": expected cl100k_base, "
            "o200k_base or p50k_base");
  auto upper = load({{"MOTORHEAD_TOKENIZER", "O200K_BASE"},
                     {"MOTORHEAD_LOG_FORMAT", "JSON"},
                     {"MOTORHEAD_LOG_LEVEL", "Warn"},
                     {"MOTORHEAD_REDIS_MODE", "Single"},
                     {"MOTORHEAD_LOG_CLIENT_ERRORS", "DEBUG"}});
  ASSERT_TRUE(upper.errors.empty());
  EXPECT_EQ(upper.value.tokenizer, "o200k_base");
  EXPECT_EQ(upper.value.log_output, log_format::json);
  EXPECT_EQ(upper.value.log_min, log_level::warn);
  EXPECT_EQ(upper.value.redis_mode, redis_options::mode::single);
  EXPECT_EQ(upper.value.log_client_errors, log_level::debug);
  EXPECT_EQ(only_error({{"MOTORHEAD_LOG_CLIENT_ERRORS", "warn"}}),
            "invalid MOTORHEAD_LOG_CLIENT_ERRORS=\"warn\": expected info or "
            "debug");
}

TEST(Settings, CorsOriginsAreOrigins) {
  EXPECT_TRUE(load({{"MOTORHEAD_CORS_ORIGINS",
                     "https://app.example.com, http://localhost:3000"}})
                .errors.empty());
  EXPECT_TRUE(load({{"MOTORHEAD_CORS_ORIGINS", "*"}}).errors.empty());
  EXPECT_NE(only_error({{"MOTORHEAD_CORS_ORIGINS", "https://app.example.com/"}})
              .find("no path, no trailing slash"),
            std::string::npos);
}

TEST(Settings, UnknownVariablesAreNamedWithTheClosestSetting) {
  auto warnings = unknown_variable_warnings(
    {"PATH", "MOTORHEAD_MAX_WINDOW", "MOTORHEAD_LONGTERM_MEMORY",
     "MOTORHEAD_PORT", "MOTORHEAD_MAX_WINDOW_SIZE", "REDIS_URL"});
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_EQ(warnings[0], "unknown variable MOTORHEAD_MAX_WINDOW is ignored "
                         "(did you mean MOTORHEAD_MAX_WINDOW_SIZE?)");
  EXPECT_NE(warnings[1].find("did you mean MOTORHEAD_LONG_TERM_MEMORY?"),
            std::string::npos);
  EXPECT_NE(warnings[2].find("unknown variable MOTORHEAD_PORT"),
            std::string::npos);
}

TEST(Settings, HelpListsWhatEachVariableAllows) {
  std::ostringstream help;
  print_usage(help);
  EXPECT_NE(help.str().find("MOTORHEAD_MAX_WINDOW_SIZE\n"), std::string::npos);
  EXPECT_NE(help.str().find("allowed: a whole number from 2 to 10000"),
            std::string::npos);
  EXPECT_NE(help.str().find("allowed: text or json"), std::string::npos);
  EXPECT_NE(help.str().find("--version"), std::string::npos);
}

TEST(Settings, EmptyValuesAreUnsetButForApiKeys) {
  auto blank = load({{"OPENAI_API_BASE", ""}, {"MOTORHEAD_HOST", ""},
                     {"MOTORHEAD_TOKENIZER_DIR", ""}, {"PORT", ""}});
  ASSERT_TRUE(blank.errors.empty()) << blank.errors.front();
  EXPECT_EQ(blank.value.openai_api_base, "");
  EXPECT_EQ(blank.value.host, "0.0.0.0");
  EXPECT_EQ(blank.value.port, 8000);
  EXPECT_FALSE(load({{"MOTORHEAD_API_KEYS", ""}}).errors.empty());
}

TEST(Settings, ComposeServiceNamesAreHosts) {
  EXPECT_TRUE(load({{"OPENAI_API_BASE", "http://ollama_server:11434/v1"},
                    {"MOTORHEAD_HOST", "my_host"}})
                .errors.empty());
  EXPECT_FALSE(load({{"OPENAI_API_BASE", "http://host:/v1"}}).errors.empty());
}

TEST(Settings, SecretsAreHiddenWhereverTheyAreShown) {
  auto shown = [](const settings_result& result, const std::string& name) {
    for (const auto& setting : result.value.shown)
      if (setting.name == name)
        return setting.value;
    return std::string{"(not listed)"};
  };
  auto result = load(
    {{"REDIS_URL", "redis://:abc,def@x@127.0.0.1:6379"},
     {"OPENAI_API_BASE", "https://user:sk-1@proxy.example.com/v1?api-key=sk-2"},
     {"AZURE_API_KEY", "az-secret"},
     {"AZURE_API_BASE", "https://u:sk-3@x.openai.azure.com"},
     {"AZURE_DEPLOYMENT_ID", "chat"},
     {"MOTORHEAD_MODEL", "gpt\x01\xff\xfe"}});
  ASSERT_TRUE(result.errors.empty()) << result.errors.front();
  EXPECT_EQ(shown(result, "REDIS_URL"), "redis://(hidden)@127.0.0.1:6379");
  EXPECT_EQ(shown(result, "OPENAI_API_BASE"),
            "https://(hidden)@proxy.example.com/v1?(hidden)");
  EXPECT_EQ(shown(result, "AZURE_API_BASE"),
            "https://(hidden)@x.openai.azure.com");
  EXPECT_EQ(shown(result, "AZURE_API_KEY"), "(hidden)");
  EXPECT_EQ(shown(result, "MOTORHEAD_MODEL"), "gpt\x01\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(result.value.redis.password, "abc,def@x");
  auto seeds = load({{"REDIS_URL", "redis://:p@ss,w@a:7000,b:7001"}});
  EXPECT_EQ(shown(seeds, "REDIS_URL"), "redis://(hidden)@a:7000,b:7001");
}

TEST(Settings, CorsOriginsAreLowerCaseOriginsOnly) {
  auto result = load({{"MOTORHEAD_CORS_ORIGINS", "https://App.Example.com:8443"}});
  ASSERT_TRUE(result.errors.empty());
  EXPECT_EQ(result.value.cors_origins,
            (std::vector<std::string>{"https://app.example.com:8443"}));
  for (const char* bad : {"https://a.example?x=1", "https://u:p@a.example",
                          "https://a.example#top"})
    EXPECT_FALSE(load({{"MOTORHEAD_CORS_ORIGINS", bad}}).errors.empty()) << bad;
}

TEST(Settings, ASettingWithoutEffectIsSaid) {
  auto result = load({{"MOTORHEAD_EMBEDDING_MODEL", "m"},
                      {"MOTORHEAD_REDIS_WAIT_TIMEOUT_MS", "500"},
                      {"MOTORHEAD_NODE_NAME", "127.0.0.1:7001"},
                      {"MOTORHEAD_CLUSTER_ADVERTISE", "127.0.0.1:7002"}});
  ASSERT_TRUE(result.errors.empty()) << result.errors.front();
  EXPECT_EQ(result.warnings,
            (std::vector<std::string>{
              "MOTORHEAD_EMBEDDING_MODEL is not used: "
              "MOTORHEAD_LONG_TERM_MEMORY is off",
              "MOTORHEAD_REDIS_WAIT_TIMEOUT_MS is not used: "
              "MOTORHEAD_REDIS_WAIT_REPLICAS is 0",
              "MOTORHEAD_NODE_NAME (its older name) is not used: "
              "MOTORHEAD_CLUSTER_ADVERTISE is set"}));
  EXPECT_EQ(result.value.node_name, "127.0.0.1:7002");
}

TEST(Settings, AShortenedNameSuggestsTheShortestItStarts) {
  auto warnings = unknown_variable_warnings({"MOTORHEAD_LOG"});
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("did you mean MOTORHEAD_LOG_LEVEL?"),
            std::string::npos);
}

TEST(Settings, AMalformedUrlIsNotRepeated) {
  for (const char* url : {"redis:/:s3cret@host:6379", ":s3cret@host:6379"}) {
    auto result = load({{"REDIS_URL", url}});
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].find("s3cret"), std::string::npos)
      << result.errors[0];
  }
  auto provider = load({{"OPENAI_API_BASE", "https://u:pa?ss@host/v1"}});
  ASSERT_EQ(provider.errors.size(), 1u);
  EXPECT_EQ(provider.errors[0].find("pa"), std::string::npos);
}

TEST(Settings, RedisUrlsTakeIpv6InBrackets) {
  auto v6 = parse_redis_url("redis://[::1]:6390");
  ASSERT_TRUE(v6) << v6.error;
  EXPECT_EQ(v6.value->host, "::1");
  EXPECT_EQ(v6.value->port, 6390);
  auto bare = parse_redis_url("redis://[fe80::1]");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare.value->host, "fe80::1");
  EXPECT_EQ(bare.value->port, 6379);
  EXPECT_FALSE(parse_redis_url("redis://[::1"));
  EXPECT_FALSE(parse_redis_url("redis://[::1]x:6379"));
  auto sentinel = endpoint_of("[::1]:26379");
  ASSERT_TRUE(sentinel) << sentinel.error;
  EXPECT_EQ(sentinel.value->host, "::1");
  EXPECT_EQ(sentinel.value->port, 26379);
}
