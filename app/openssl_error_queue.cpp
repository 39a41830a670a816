// OpenSSL's TLS I/O calls, each preceded by clearing the calling thread's
// error queue, as OpenSSL requires ("the current thread's error queue must
// be empty before the TLS/SSL I/O operation is attempted, or
// SSL_get_error() will not work reliably", SSL_get_error(3)).
//
// CAF 0.17.6's OpenSSL module (TLS between cluster nodes) does not: it
// empties the queue only when it logs the failure, and Debian builds CAF
// without logging. One connection that fails its handshake (a peer without
// a certificate from the cluster's CA, a plain-TCP client) leaves an error
// in the middleman thread's queue, and the next healthy connection whose
// read would merely block is taken as failed: nodes dropped each other
// every few hundred milliseconds while a stranger kept trying
// (MutualTlsTest). Defined in the executable, these take the place of
// libssl's for every library in the process (CAF, libcurl), and call them.
#include <dlfcn.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

template <class Function>
Function libssl(const char* name) {
  return reinterpret_cast<Function>(dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buffer, int size) {
  static auto next = libssl<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return next(ssl, buffer, size);
}

int SSL_write(SSL* ssl, const void* buffer, int size) {
  static auto next = libssl<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return next(ssl, buffer, size);
}

int SSL_connect(SSL* ssl) {
  static auto next = libssl<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return next(ssl);
}

int SSL_accept(SSL* ssl) {
  static auto next = libssl<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return next(ssl);
}

} // extern "C"
