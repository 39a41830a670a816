// OpenSSL's loading of a certificate chain, a private key and trusted CAs
// from files, served from the node's TLS credentials loaded at start
// (config/tls_credentials.hpp) when CAF asks for the node's own files; any
// other file (libcurl's CA bundle) is loaded by libssl as usual.
//
// CAF 0.17.6's OpenSSL module builds a TLS context, loading the three
// files, for every connection, and stops the process when a load fails.
// With the files read again each time, a node stopped at the next
// connection when a file was moved or rotated while it ran, or when
// strangers holding connections open had used up its file descriptors.
// Defined in the executable, these take the place of libssl's for every
// library in the process.
#include <cstring>

#include <dlfcn.h>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "config/tls_credentials.hpp"

namespace {

using motorhead::tls_credentials;

template <class Function>
Function libssl(const char* name) {
  return reinterpret_cast<Function>(dlsym(RTLD_NEXT, name));
}

/// The credentials loaded at start, when `path` names one of their files.
const tls_credentials* loaded_for(const char* path,
                                  std::string tls_credentials::*file) {
  auto loaded = motorhead::tls_credentials_in_memory();
  if (loaded == nullptr || path == nullptr || (*loaded).*file != path)
    return nullptr;
  return loaded;
}

} // namespace

extern "C" {

int SSL_CTX_use_certificate_chain_file(SSL_CTX* context, const char* file) {
  static auto next = libssl<int (*)(SSL_CTX*, const char*)>(
    "SSL_CTX_use_certificate_chain_file");
  auto loaded = loaded_for(file, &tls_credentials::certificate_path);
  if (loaded == nullptr)
    return next(context, file);
  if (SSL_CTX_use_certificate(context,
                              SSL_CTX_get0_certificate(loaded->context.get()))
      != 1)
    return 0;
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(loaded->context.get(), &chain);
  for (int i = 0; i < sk_X509_num(chain); ++i)
    if (SSL_CTX_add1_chain_cert(context, sk_X509_value(chain, i)) != 1)
      return 0;
  return 1;
}

int SSL_CTX_use_PrivateKey_file(SSL_CTX* context, const char* file,
                                int type) {
  static auto next = libssl<int (*)(SSL_CTX*, const char*, int)>(
    "SSL_CTX_use_PrivateKey_file");
  auto loaded = loaded_for(file, &tls_credentials::key_path);
  if (loaded == nullptr)
    return next(context, file, type);
  return SSL_CTX_use_PrivateKey(context,
                                SSL_CTX_get0_privatekey(loaded->context.get()));
}

int SSL_CTX_load_verify_locations(SSL_CTX* context, const char* ca_file,
                                  const char* ca_path) {
  static auto next = libssl<int (*)(SSL_CTX*, const char*, const char*)>(
    "SSL_CTX_load_verify_locations");
  auto loaded = loaded_for(ca_file, &tls_credentials::ca_path);
  if (loaded == nullptr || ca_path != nullptr)
    return next(context, ca_file, ca_path);
  auto* store = SSL_CTX_get_cert_store(context);
  auto* objects = X509_STORE_get0_objects(
    SSL_CTX_get_cert_store(loaded->context.get()));
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i)
    if (auto* ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i)))
      if (X509_STORE_add_cert(store, ca) != 1)
        return 0;
  return 1;
}

} // extern "C"
