// A blocking byte stream to one Redis server, over TCP or TLS, that speaks
// RESP through hiredis' command formatter and reply reader. hiredis 0.14
// (Debian 12's) has no TLS of its own: the transport is ours, the protocol
// stays hiredis'.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/outcome.hpp"

struct redisReader;
struct ssl_st;

namespace motorhead {

struct redis_endpoint;
struct redis_reply;

/// How connections to Redis are secured: a rediss:// URL turns TLS on, for
/// every server it leads to (replicas, sentinels, the nodes of a cluster).
struct redis_tls_options {
  bool enabled = false;
  /// PEM file of the CAs that sign the servers' certificates; empty: the
  /// system's.
  std::string ca_file;
  /// PEM files of a client certificate and its key, for servers that ask
  /// for one (mutual TLS); both or neither.
  std::string cert_file;
  std::string key_file;
  /// Accepts any certificate: for tests with throwaway certificates only.
  bool skip_verify = false;
};

/// Whether `tls` can be used: its files read, the key that of the
/// certificate; "" or why not.
std::string check_redis_tls(const redis_tls_options& tls);

class redis_stream {
public:
  /// Connects within `timeout`, which also bounds each read and write
  /// after. With TLS, the server's certificate must chain to the CAs and
  /// name `endpoint.host` (a DNS name or an IP address). OpenSSL writes
  /// with write(): the process must ignore SIGPIPE (main does).
  static outcome<std::unique_ptr<redis_stream>>
  open(const redis_endpoint& endpoint, const redis_tls_options& tls,
       std::chrono::milliseconds timeout);

  ~redis_stream();
  redis_stream(const redis_stream&) = delete;
  redis_stream& operator=(const redis_stream&) = delete;

  /// Queues a command (RESP: an array of bulk strings).
  void append(const std::vector<std::string>& command);
  /// Writes every queued command; "" or why not.
  std::string flush();
  /// Reads the next reply; "" or why not (the stream is then unusable).
  std::string read(redis_reply& reply);

  /// With no reply awaited: false when the server closed the connection
  /// meanwhile (Redis' `timeout`, a managed Redis or proxy closing idle
  /// clients), or sent anything unasked. Does not wait.
  bool open_while_idle();

private:
  redis_stream(int fd, ssl_st* ssl, std::chrono::milliseconds timeout);

  /// Reads what the server sent next into the reply reader; "" or why not.
  std::string fill();

  int fd_;
  ssl_st* ssl_; // null without TLS
  std::chrono::milliseconds timeout_; // of each read and write
  redisReader* reader_;

  std::string output_;
};

} // namespace motorhead
