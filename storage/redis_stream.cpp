#include "storage/redis_stream.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/openssl_reason.hpp"
#include "storage/redis_connection.hpp"

namespace motorhead {

namespace {

using ssl_context = std::shared_ptr<SSL_CTX>;

outcome<ssl_context> make_context(const redis_tls_options& tls) {
  using result = outcome<ssl_context>;
  ssl_context context{SSL_CTX_new(TLS_client_method()), SSL_CTX_free};
  if (!context)
    return result::failure("cannot make a TLS context: " + openssl_reason());
  SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
  if (tls.skip_verify) {
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
    int loaded = tls.ca_file.empty()
                   ? SSL_CTX_set_default_verify_paths(context.get())
                   : SSL_CTX_load_verify_locations(context.get(),
                                                   tls.ca_file.c_str(), nullptr);
    if (loaded != 1)
      return result::failure("cannot read the CA file \"" + tls.ca_file
                             + "\": " + openssl_reason());
  }
  if (tls.cert_file.empty() != tls.key_file.empty())
    return result::failure("a client certificate needs its key, and a key its "
                           "certificate");
  if (!tls.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(context.get(), tls.cert_file.c_str())
        != 1)
      return result::failure("cannot read the client certificate \""
                             + tls.cert_file + "\": " + openssl_reason());
    // Fails as well for a key that is not the certificate's.
    if (SSL_CTX_use_PrivateKey_file(context.get(), tls.key_file.c_str(),
                                    SSL_FILETYPE_PEM)
        != 1)
      return result::failure("cannot read the client key \"" + tls.key_file
                             + "\": " + openssl_reason());
  }
  return {std::move(context), {}};
}

/// One TLS context per configuration, made on first use and shared by
/// every connection (OpenSSL lets threads share a context once it is set
/// up): its files are read once.
outcome<ssl_context> shared_context(const redis_tls_options& tls) {
  static std::mutex guard;
  static std::map<std::tuple<std::string, std::string, std::string, bool>,
                  ssl_context>
    made;
  std::lock_guard<std::mutex> lock{guard};
  auto key = std::make_tuple(tls.ca_file, tls.cert_file, tls.key_file,
                             tls.skip_verify);
  if (auto found = made.find(key); found != made.end())
    return {found->second, {}};
  auto context = make_context(tls);
  if (context)
    made.emplace(key, *context.value);
  return context;
}

std::string system_error(const char* what) {
  return std::string{what} + ": " + std::strerror(errno);
}

/// Why a read or write gave up: the server took longer than the timeout
/// (SO_RCVTIMEO and SO_SNDTIMEO end them with EAGAIN).
std::string no_answer_within(std::chrono::milliseconds timeout) {
  return "no answer within " + std::to_string(timeout.count()) + " ms";
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/// Connects a socket to one address within `timeout`; the descriptor or
/// why not.
outcome<int> connect_one(const addrinfo& address,
                         std::chrono::milliseconds timeout) {
  using result = outcome<int>;
  int fd = socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK
                                       | SOCK_CLOEXEC,
                  address.ai_protocol);
  if (fd < 0)
    return result::failure(system_error("socket"));
  auto fail = [fd](std::string why) {
    close(fd);
    return result::failure(std::move(why));
  };
  if (connect(fd, address.ai_addr, address.ai_addrlen) != 0) {
    if (errno != EINPROGRESS)
      return fail(std::strerror(errno));
    pollfd waiting{fd, POLLOUT, 0};
    int ready = poll(&waiting, 1, static_cast<int>(timeout.count()));
    if (ready == 0)
      return fail("Connection timed out");
    int error = 0;
    socklen_t length = sizeof error;
    if (ready < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
      return fail(system_error("poll"));
    if (error != 0)
      return fail(std::strerror(error));
  }
  int flags = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &flags, sizeof flags);
  // Blocking from now on: every read and write waits up to the timeout.
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
    return fail(system_error("fcntl"));
  set_timeouts(fd, timeout);
  return {fd, {}};
}

/// Connects to the first address of `endpoint` that answers.
outcome<int> connect_tcp(const redis_endpoint& endpoint,
                         std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  auto port = std::to_string(endpoint.port);
  if (int err = getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found);
      err != 0)
    return outcome<int>::failure("cannot resolve \"" + endpoint.host
                                 + "\": " + gai_strerror(err));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses{found,
                                                               freeaddrinfo};
  std::string why;
  for (auto* address = found; address != nullptr; address = address->ai_next) {
    auto fd = connect_one(*address, timeout);
    if (fd)
      return fd;
    why = fd.error;
  }
  return outcome<int>::failure(why);
}

bool is_ip_address(const std::string& host) {
  in6_addr scratch;
  return inet_pton(AF_INET, host.c_str(), &scratch) == 1
         || inet_pton(AF_INET6, host.c_str(), &scratch) == 1;
}

/// The TLS handshake over `fd`, each read within `timeout`; the session
/// or why not.
outcome<SSL*> start_tls(int fd, const redis_endpoint& endpoint,
                        const redis_tls_options& tls,
                        std::chrono::milliseconds timeout) {
  using result = outcome<SSL*>;
  auto context = shared_context(tls);
  if (!context)
    return result::failure(context.error);
  SSL* ssl = SSL_new(context.value->get());
  if (ssl == nullptr)
    return result::failure("cannot start TLS: " + openssl_reason());
  auto fail = [ssl](std::string why) {
    SSL_free(ssl);
    return result::failure(std::move(why));
  };
  SSL_set_fd(ssl, fd);
  bool by_address = is_ip_address(endpoint.host);
  if (!by_address)
    SSL_set_tlsext_host_name(ssl, endpoint.host.c_str());
  if (!tls.skip_verify) {
    auto* check = SSL_get0_param(ssl);
    int named = by_address
                  ? X509_VERIFY_PARAM_set1_ip_asc(check, endpoint.host.c_str())
                  : X509_VERIFY_PARAM_set1_host(check, endpoint.host.c_str(), 0);
    if (named != 1)
      return fail("cannot check the certificate's name: " + openssl_reason());
  }
  ERR_clear_error();
  if (SSL_connect(ssl) != 1) {
    auto verified = SSL_get_verify_result(ssl);
    if (verified != X509_V_OK)
      return fail(std::string{"the server's certificate is not trusted: "}
                  + X509_verify_cert_error_string(verified));
    auto reason = openssl_reason();
    if (reason.empty())
      reason = errno == EAGAIN ? no_answer_within(timeout)
                               : std::string{std::strerror(errno)};
    return fail("TLS handshake failed: " + reason);
  }
  return {ssl, {}};
}

} // namespace

std::string check_redis_tls(const redis_tls_options& tls) {
  if (!tls.enabled)
    return {};
  auto context = shared_context(tls);
  return context ? std::string{} : context.error;
}

outcome<std::unique_ptr<redis_stream>>
redis_stream::open(const redis_endpoint& endpoint, const redis_tls_options& tls,
                   std::chrono::milliseconds timeout) {
  using result = outcome<std::unique_ptr<redis_stream>>;
  auto fd = connect_tcp(endpoint, timeout);
  if (!fd)
    return result::failure(fd.error);
  SSL* ssl = nullptr;
  if (tls.enabled) {
    auto session = start_tls(*fd.value, endpoint, tls, timeout);
    if (!session) {
      close(*fd.value);
      return result::failure(session.error);
    }
    ssl = *session.value;
  }
  return {std::unique_ptr<redis_stream>{
            new redis_stream{*fd.value, ssl, timeout}},
          {}};
}

redis_stream::redis_stream(int fd, SSL* ssl, std::chrono::milliseconds timeout)
  : fd_(fd), ssl_(ssl), timeout_(timeout), reader_(redisReaderCreate()) {}

redis_stream::~redis_stream() {
  if (ssl_ != nullptr) {
    // No close_notify: the socket closes next, and a server gone would
    // make the write wait for the timeout.
    SSL_free(ssl_);
  }
  close(fd_);
  redisReaderFree(reader_);
}

namespace {

/// The most a header takes: its kind, 20 digits and CR LF.
constexpr std::size_t header_room = 23;

/// Writes "<kind><count>\r\n" at `out`; returns where it ends.
char* write_header(char* out, char kind, std::size_t count) {
  *out++ = kind;
  out = std::to_chars(out, out + 20, count).ptr;
  *out++ = '\r';
  *out++ = '\n';
  return out;
}

} // namespace

// Written here rather than by hiredis' redisFormatCommandArgv, which
// formats each length with sprintf into a buffer of its own: a tenth of
// the server's instructions for a POST.
void redis_stream::append(const std::vector<std::string>& command) {
  // The output grows once per command, and is written in place.
  std::size_t most = header_room;
  for (const auto& arg : command)
    most += header_room + arg.size() + 2;
  auto start = output_.size();
  output_.resize(start + most);
  char* out = output_.data() + start;
  out = write_header(out, '*', command.size());
  for (const auto& arg : command) {
    out = write_header(out, '$', arg.size());
    out = std::copy(arg.begin(), arg.end(), out);
    *out++ = '\r';
    *out++ = '\n';
  }
  output_.resize(static_cast<std::size_t>(out - output_.data()));
}

std::string redis_stream::flush() {
  std::size_t sent = 0;
  while (sent < output_.size()) {
    const char* data = output_.data() + sent;
    auto left = output_.size() - sent;
    long wrote;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      wrote = SSL_write(ssl_, data, static_cast<int>(left));
      if (wrote <= 0) {
        auto reason = openssl_reason();
        output_.clear();
        return reason.empty() ? system_error("write") : reason;
      }
    } else {
      wrote = send(fd_, data, left, MSG_NOSIGNAL);
      if (wrote < 0 && errno == EINTR)
        continue;
      if (wrote < 0) {
        output_.clear();
        return errno == EAGAIN ? no_answer_within(timeout_)
                               : system_error("write");
      }
    }
    sent += static_cast<std::size_t>(wrote);
  }
  output_.clear();
  return {};
}

std::string redis_stream::fill() {
  char buffer[16 * 1024];
  long got;
  if (ssl_ != nullptr) {
    ERR_clear_error();
    got = SSL_read(ssl_, buffer, sizeof buffer);
    if (got <= 0) {
      int error = SSL_get_error(ssl_, static_cast<int>(got));
      if (error == SSL_ERROR_ZERO_RETURN)
        return "Server closed the connection";
      if (error == SSL_ERROR_WANT_READ || errno == EAGAIN)
        return no_answer_within(timeout_);
      auto reason = openssl_reason();
      return reason.empty() ? (got == 0 ? "Server closed the connection"
                                        : system_error("read"))
                            : reason;
    }
  } else {
    do
      got = recv(fd_, buffer, sizeof buffer, 0);
    while (got < 0 && errno == EINTR);
    if (got == 0)
      return "Server closed the connection";
    if (got < 0)
      return errno == EAGAIN ? no_answer_within(timeout_)
                             : std::string{std::strerror(errno)};
  }
  if (redisReaderFeed(reader_, buffer, static_cast<std::size_t>(got)) != REDIS_OK)
    return "cannot read the reply";
  return {};
}

bool redis_stream::open_while_idle() {
  pollfd idle{fd_, POLLIN | POLLRDHUP, 0};
  if (poll(&idle, 1, 0) == 0)
    return true;
  if ((idle.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0 || ssl_ == nullptr)
    return false; // closed, or sent what nobody asked for
  // Over TLS the server may have sent records of its own since the
  // handshake (TLS 1.3 session tickets): OpenSSL reads them, without
  // waiting, and finds no reply among them unless something is wrong.
  int flags = fcntl(fd_, F_GETFL);
  fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
  char byte;
  ERR_clear_error();
  int peeked = SSL_peek(ssl_, &byte, 1);
  int error = SSL_get_error(ssl_, peeked);
  fcntl(fd_, F_SETFL, flags);
  ERR_clear_error();
  return peeked <= 0 && error == SSL_ERROR_WANT_READ;
}

namespace {

redis_reply copy_reply(const redisReply& raw) {
  redis_reply reply;
  switch (raw.type) {
    case REDIS_REPLY_INTEGER:
      reply.type = redis_reply::kind::integer;
      reply.integer = raw.integer;
      break;
    case REDIS_REPLY_STRING:
      reply.type = redis_reply::kind::string;
      reply.text.assign(raw.str, raw.len);
      break;
    case REDIS_REPLY_STATUS:
      reply.type = redis_reply::kind::status;
      reply.text.assign(raw.str, raw.len);
      break;
    case REDIS_REPLY_ERROR:
      reply.type = redis_reply::kind::error;
      reply.text.assign(raw.str, raw.len);
      break;
    case REDIS_REPLY_ARRAY:
      reply.type = redis_reply::kind::array;
      for (size_t i = 0; i < raw.elements; ++i)
        reply.elements.push_back(copy_reply(*raw.element[i]));
      break;
    default:
      reply.type = redis_reply::kind::nil;
  }
  return reply;
}

} // namespace

std::string redis_stream::read(redis_reply& reply) {
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_, &raw) != REDIS_OK)
      // hiredis says "Protocol error, got ...": something other than
      // Redis answered.
      return std::string{reader_->errstr} + " (is it a Redis server?)";
    if (raw != nullptr) {
      reply = copy_reply(*static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      return {};
    }
    if (auto err = fill(); !err.empty())
      return err;
  }
}

} // namespace motorhead
