#include "storage/redis_connection.hpp"

#include <algorithm>
#include <charconv>
#include <memory>
#include <utility>

#include "core/metrics.hpp"
#include "core/text.hpp"
#include "storage/lua_script.hpp"
#include "storage/redis_stream.hpp"

namespace motorhead {

namespace {

/// `text` with each %XX replaced by the byte it encodes; a % not followed
/// by two hex digits stays as it is.
std::string percent_decoded(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool encoded = text[i] == '%' && i + 2 < text.size()
                   && hex_digit_value(text[i + 1]) >= 0
                   && hex_digit_value(text[i + 2]) >= 0;
    if (!encoded) {
      out.push_back(text[i]);
      continue;
    }
    out.push_back(static_cast<char>(hex_digit_value(text[i + 1]) * 16
                                    + hex_digit_value(text[i + 2])));
    i += 2;
  }
  return out;
}

bool parse_number(const std::string& text, long max, long& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && out >= 0
         && out <= max;
}

/// host, host:port, [v6] or [v6]:port into `endpoint`, whose port stays
/// when none is given unless `port_required`. Returns an error or "".
std::string read_host_port(const std::string& text, bool port_required,
                           redis_endpoint& endpoint) {
  std::string host = text;
  auto bracket = std::string::npos;
  if (host.substr(0, 1) == "[") {
    bracket = host.find(']');
    if (bracket == std::string::npos)
      return "\"" + text + "\" opens an IPv6 address with [ but never closes it";
  }
  auto colon = host.rfind(':');
  if (bracket != std::string::npos && colon < bracket)
    colon = std::string::npos;
  if (colon != std::string::npos) {
    long port = 0;
    if (!parse_number(host.substr(colon + 1), 65535, port) || port == 0)
      return "the port must be a number from 1 to 65535";
    endpoint.port = static_cast<uint16_t>(port);
    host = host.substr(0, colon);
  } else if (port_required) {
    return "\"" + text + "\" is not host:port";
  }
  if (bracket != std::string::npos) {
    if (bracket + 1 != host.size())
      return "\"" + text + "\" has more than a port after ]";
    host = host.substr(1, bracket - 1);
  }
  if (host.empty())
    return "\"" + text + "\" names no host";
  endpoint.host = host;
  return {};
}

} // namespace

std::string address_of(const redis_endpoint& endpoint) {
  return endpoint.host + ":" + std::to_string(endpoint.port);
}

outcome<redis_endpoint> endpoint_of(const std::string& address) {
  redis_endpoint endpoint;
  if (auto err = read_host_port(address, true, endpoint); !err.empty())
    return outcome<redis_endpoint>::failure(err);
  return {endpoint, {}};
}

outcome<std::vector<redis_endpoint>>
parse_redis_seeds(const std::string& url) {
  using result = outcome<std::vector<redis_endpoint>>;
  const std::string scheme = uses_tls(url) ? "rediss://" : "redis://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    return result::failure("expected redis://[:password@]host[:port][/db] "
                           "(or rediss:// for TLS)");
  redis_endpoint shared;
  auto rest = url.substr(scheme.size());
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    // user:password@ as the original's Redis client reads it, each part
    // percent-decoded; a lone part is the user's name.
    auto credentials = rest.substr(0, at);
    auto colon = std::min(credentials.find(':'), credentials.size());
    shared.username = percent_decoded(credentials.substr(0, colon));
    if (colon < credentials.size())
      shared.password = percent_decoded(credentials.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    long db = 0;
    auto db_text = rest.substr(slash + 1);
    if (!db_text.empty() && !parse_number(db_text, 15, db))
      return result::failure("the database must be a number from 0 to 15");
    shared.database = static_cast<int>(db);
    rest = rest.substr(0, slash);
  }
  std::vector<redis_endpoint> seeds;
  std::size_t start = 0;
  do {
    auto comma = std::min(rest.find(',', start), rest.size());
    auto host = rest.substr(start, comma - start);
    start = comma + 1;
    auto endpoint = shared;
    if (auto err = read_host_port(host, false, endpoint); !err.empty())
      return result::failure(err);
    seeds.push_back(std::move(endpoint));
  } while (start <= rest.size());
  return {std::move(seeds), {}};
}

bool uses_tls(std::string_view url) {
  return url.substr(0, 9) == "rediss://";
}

outcome<redis_endpoint> parse_redis_url(const std::string& url) {
  auto seeds = parse_redis_seeds(url);
  if (!seeds)
    return outcome<redis_endpoint>::failure(seeds.error);
  if (seeds.value->size() != 1)
    return outcome<redis_endpoint>::failure("the URL names several hosts");
  return {seeds.value->front(), {}};
}

redis_connection::redis_connection(redis_target target,
                                   std::chrono::milliseconds timeout)
  : target_(std::move(target)), timeout_(timeout) {
}

redis_connection::~redis_connection() {
  disconnect("the connection was closed");
}

void redis_connection::disconnect(const std::string& why) {
  if (stream_) {
    for (auto& pipeline : in_flight_)
      if (pipeline.lost_because.empty())
        pipeline.lost_because = why;
    stream_.reset();
  }
  loaded_scripts_.clear();
}

std::string redis_connection::connect() {
  if (!target_.uses_sentinels())
    return connect_to(target_.server);
  auto found = ask_sentinels();
  if (!found)
    return found.error;
  auto master = *found.value;
  master.username = target_.server.username;
  master.password = target_.server.password;
  master.database = target_.server.database;
  if (auto err = connect_to(master); !err.empty())
    return err;
  // A sentinel may name a server that is not the master yet, or not any
  // more: writes never go to a replica.
  std::vector<redis_reply> role;
  if (auto err = run_handshake({{"ROLE"}}, &role); !err.empty())
    return err;
  if (role.front().elements.empty()
      || role.front().elements.front().text != "master") {
    auto why = master.host + ":" + std::to_string(master.port)
               + " is a replica, not the master of \"" + target_.master_name
               + "\"";
    disconnect(why);
    return why;
  }
  return {};
}

std::string redis_connection::connect_to(const redis_endpoint& endpoint) {
  auto stream = redis_stream::open(endpoint, target_.tls, timeout_);
  if (!stream)
    return stream.error;
  stream_ = std::move(*stream.value);
  std::vector<redis_command> handshake;
  // As the original's client: no AUTH without a password, the user's name
  // only with one.
  if (!endpoint.password.empty())
    handshake.push_back(
      endpoint.username.empty()
        ? redis_command{"AUTH", endpoint.password}
        : redis_command{"AUTH", endpoint.username, endpoint.password});
  if (endpoint.database != 0)
    handshake.push_back({"SELECT", std::to_string(endpoint.database)});
  if (handshake.empty())
    return {};
  auto err = run_handshake(handshake, nullptr);
  // Redis before 6 knows no users and refuses AUTH with two arguments;
  // the original's client then sends the password alone, so does this.
  if (!endpoint.username.empty() && !endpoint.password.empty()
      && err.find("wrong number of arguments") != std::string::npos) {
    auto without_user = endpoint;
    without_user.username.clear();
    return connect_to(without_user);
  }
  return err;
}

std::string
redis_connection::run_handshake(const std::vector<redis_command>& commands,
                                std::vector<redis_reply>* replies) {
  // Pipelines lost with the previous connection fail when their turn to be
  // received comes; the handshake's replies are not theirs.
  auto lost = std::exchange(in_flight_, {});
  auto result = execute(commands);
  in_flight_ = std::move(lost);
  if (!result.complete())
    return result.error;
  for (const auto& reply : result.replies)
    if (reply.is_error()) {
      disconnect(reply.text);
      return reply.text;
    }
  if (replies != nullptr)
    *replies = std::move(result.replies);
  return {};
}

outcome<redis_endpoint> redis_connection::ask_sentinels() {
  using result = outcome<redis_endpoint>;
  std::string errors;
  for (const auto& sentinel : target_.sentinels) {
    auto where = address_of(sentinel);
    auto reply = ask_sentinel(sentinel);
    if (!reply) {
      errors += "; " + where + ": " + reply.error;
      continue;
    }
    const auto& named = *reply.value;
    long port = 0;
    if (named.type == redis_reply::kind::array && named.elements.size() == 2
        && parse_number(named.elements[1].text, 65535, port) && port > 0) {
      redis_endpoint master;
      master.host = named.elements[0].text;
      master.port = static_cast<uint16_t>(port);
      return {std::move(master), {}};
    }
    errors += "; " + where + ": "
              + (named.is_error() ? named.text : "does not know the master");
  }
  return result::failure("no sentinel names the master \""
                         + target_.master_name + "\"" + errors);
}

outcome<redis_reply>
redis_connection::ask_sentinel(const redis_endpoint& sentinel) {
  using result = outcome<redis_reply>;
  auto stream = redis_stream::open(sentinel, target_.tls, timeout_);
  if (!stream)
    return result::failure(stream.error);
  auto& connection = **stream.value;
  connection.append({"SENTINEL", "get-master-addr-by-name",
                     target_.master_name});
  redis_reply reply;
  if (auto err = connection.flush(); !err.empty())
    return result::failure(err);
  if (auto err = connection.read(reply); !err.empty())
    return result::failure(err);
  return {std::move(reply), {}};
}

void pipeline_result::fail(const std::string& why, bool sent) {
  if (error.empty())
    error = why;
  maybe_applied = maybe_applied || sent;
}

pipeline_result
redis_connection::execute(const std::vector<redis_command>& commands) {
  pipeline_result result(commands.size());
  std::vector<routed_command> routed;
  routed.reserve(commands.size());
  for (const auto& command : commands)
    routed.push_back({&command});
  if (send(routed, result))
    receive(result.replies, result);
  return result;
}

bool redis_connection::send(const std::vector<routed_command>& commands,
                            pipeline_result& result) {
  auto& counters = metrics::global();
  // A connection the server closed while it idled would lose this
  // pipeline: a new one takes it (no reply of it was read, none is lost).
  if (stream_ && in_flight_.empty() && !stream_->open_while_idle())
    disconnect("Redis closed the connection while it was idle");
  if (!stream_)
    if (auto err = connect(); !err.empty()) {
      counters.redis_errors.add();
      result.fail("Redis is unreachable: " + err, false);
      return false;
    }
  counters.redis_round_trips.add();
  auto& expected = in_flight_.emplace_back().replies_expected;
  std::size_t total = 0;
  for (const auto& command : commands) {
    expected.push_back(append(command));
    total += expected.back();
  }
  counters.redis_commands.add(total);
  if (auto err = stream_->flush(); !err.empty()) {
    counters.redis_errors.add();
    result.fail("Redis connection lost: " + err, true);
    // The caller fails this pipeline; it is not received.
    in_flight_.pop_back();
    disconnect(err);
    return false;
  }
  return true;
}

void redis_connection::receive(std::vector<redis_reply>& replies,
                               pipeline_result& result) {
  auto& counters = metrics::global();
  demoted_ = false;
  auto pipeline = std::move(in_flight_.front());
  in_flight_.pop_front();
  const auto& expected = pipeline.replies_expected;
  replies.resize(expected.size(),
                 redis_reply{redis_reply::kind::missing, 0, {}, {}});
  if (!pipeline.lost_because.empty()) {
    counters.redis_errors.add();
    result.fail("Redis connection lost: " + pipeline.lost_because, true);
    return;
  }
  for (std::size_t i = 0; i < expected.size(); ++i) {
    redis_reply reply;
    // The replies of a SCRIPT LOAD or ASKING sent before are not kept.
    for (std::size_t part = 0; part < expected[i]; ++part)
      if (auto err = stream_->read(reply); !err.empty()) {
        counters.redis_errors.add();
        result.fail("Redis connection lost: " + err, true);
        disconnect(err);
        return;
      }
    if (reply.is_error()) {
      counters.redis_errors.add();
      // Nothing ran; the next calls load their scripts again.
      if (reply.is_error("NOSCRIPT"))
        loaded_scripts_.clear();
      if (reply.is_error("READONLY"))
        demoted_ = true;
    }
    replies[i] = std::move(reply);
  }
  if (demoted_)
    disconnect("the server became a replica");
}

std::size_t redis_connection::append(const routed_command& routed) {
  const auto& command = *routed.command;
  std::size_t count = 0;
  if (command.size() > 1 && command[0] == "EVALSHA"
      && loaded_scripts_.count(command[1]) == 0)
    if (const auto* script = store::lua_script::find(command[1])) {
      stream_->append({"SCRIPT", "LOAD", script->text()});
      loaded_scripts_.insert(command[1]);
      ++count;
    }
  if (routed.asking) {
    stream_->append({"ASKING"});
    ++count;
  }
  stream_->append(command);
  return count + 1;
}

} // namespace motorhead
