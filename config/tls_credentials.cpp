#include "config/tls_credentials.hpp"

#include <fstream>
#include <iterator>
#include <memory>

#include <sys/mman.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace motorhead {

namespace {

/// OpenSSL's reason for the last failure, emptying its error queue.
std::string openssl_reason() {
  std::string reason;
  while (auto code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    reason = text; // the last is the most specific
  }
  return reason.empty() ? "" : " (" + reason + ")";
}

/// Whether `certificate`, with the chain the context holds, leads to a CA
/// of the context's store and is valid now; else why not.
std::string verify_against_ca(SSL_CTX* context) {
  X509* certificate = SSL_CTX_get0_certificate(context);
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(context, &chain);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> check{
    X509_STORE_CTX_new(), X509_STORE_CTX_free};
  if (!check
      || X509_STORE_CTX_init(check.get(), SSL_CTX_get_cert_store(context),
                             certificate, chain)
           != 1)
    return "cannot check the certificate" + openssl_reason();
  if (X509_verify_cert(check.get()) == 1)
    return {};
  ERR_clear_error();
  return X509_verify_cert_error_string(X509_STORE_CTX_get_error(check.get()));
}

/// Copies the file at `path` into a memfd and points `path` at it; false
/// when the file cannot be read or the copy made.
bool pin(std::string& path) {
  std::ifstream file{path, std::ios::binary};
  std::string bytes{std::istreambuf_iterator<char>{file}, {}};
  if (!file && !file.eof())
    return false;
  int fd = memfd_create("motorhead-tls", MFD_CLOEXEC);
  if (fd < 0)
    return false;
  std::size_t written = 0;
  while (written < bytes.size()) {
    auto n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n <= 0) {
      ::close(fd);
      return false;
    }
    written += static_cast<std::size_t>(n);
  }
  path = "/proc/self/fd/" + std::to_string(fd); // open until the process ends
  return true;
}

} // namespace

std::string pin_tls_credentials(std::string& certificate, std::string& key,
                                std::string& ca) {
  for (auto* path : {&certificate, &key, &ca})
    if (!pin(*path))
      return "cannot keep a copy of \"" + *path + "\" in memory";
  return {};
}

std::string check_tls_credentials(const std::string& certificate,
                                  const std::string& key,
                                  const std::string& ca) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context{
    SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!context)
    return "cannot set up TLS" + openssl_reason();
  auto quoted = [](const std::string& path) { return "\"" + path + "\""; };
  if (SSL_CTX_use_certificate_chain_file(context.get(), certificate.c_str())
      != 1)
    return "MOTORHEAD_CLUSTER_TLS_CERT: no PEM certificate in "
           + quoted(certificate) + openssl_reason();
  if (SSL_CTX_use_PrivateKey_file(context.get(), key.c_str(), SSL_FILETYPE_PEM)
      != 1)
    return "MOTORHEAD_CLUSTER_TLS_KEY: " + quoted(key)
           + " is not a PEM private key of the certificate "
           + quoted(certificate) + openssl_reason();
  if (SSL_CTX_load_verify_locations(context.get(), ca.c_str(), nullptr) != 1)
    return "MOTORHEAD_CLUSTER_TLS_CA: no PEM certificate in " + quoted(ca)
           + openssl_reason();
  if (auto why = verify_against_ca(context.get()); !why.empty())
    return "MOTORHEAD_CLUSTER_TLS_CERT: " + quoted(certificate)
           + " is not valid for the CA " + quoted(ca) + ": " + why;
  return {};
}

} // namespace motorhead
