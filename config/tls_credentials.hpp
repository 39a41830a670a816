#pragma once

#include <memory>
#include <string>

#include <openssl/ssl.h>

namespace motorhead {

/// A node's TLS credentials as loaded at start: the paths it was given,
/// and a context that holds what they held (the certificate and its
/// chain, the key, the CA's certificates).
struct tls_credentials {
  std::string certificate_path;
  std::string key_path;
  std::string ca_path;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context{nullptr,
                                                            SSL_CTX_free};
};

/// Loads a node's TLS credentials once, and checks them against each
/// other: a PEM certificate (chain) and key, the key the certificate's,
/// the CA, and the certificate valid for that CA now (not expired, signed
/// by it) as a TLS client and as a server. Returns why they cannot serve,
/// naming the variable at fault, or "" and keeps them for the life of the
/// process (see tls_credentials_in_memory).
std::string load_tls_credentials(const std::string& certificate,
                                 const std::string& key,
                                 const std::string& ca);

/// The credentials load_tls_credentials kept, or nullptr. CAF's OpenSSL
/// module loads the three files again for every connection, and stops
/// the process when it cannot (a file moved or rotated while the node
/// runs, or no file descriptor left): app/openssl_credentials.cpp serves
/// those loads from these instead.
const tls_credentials* tls_credentials_in_memory();

} // namespace motorhead
