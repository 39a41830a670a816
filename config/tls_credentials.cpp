#include "config/tls_credentials.hpp"

#include <memory>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "core/openssl_reason.hpp"

namespace motorhead {

namespace {

/// OpenSSL's reason for the last failure, in parentheses after a message.
std::string reason_in_parentheses() {
  auto reason = openssl_reason();
  return reason.empty() ? "" : " (" + reason + ")";
}

/// Whether the certificate the context holds, with its chain, leads to a
/// CA of the context's store and is valid now for `purpose`; else why not.
std::string verify_against_ca(SSL_CTX* context, int purpose) {
  X509* certificate = SSL_CTX_get0_certificate(context);
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(context, &chain);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> check{
    X509_STORE_CTX_new(), X509_STORE_CTX_free};
  if (!check
      || X509_STORE_CTX_init(check.get(), SSL_CTX_get_cert_store(context),
                             certificate, chain)
           != 1
      || X509_STORE_CTX_set_purpose(check.get(), purpose) != 1)
    return "cannot check the certificate" + reason_in_parentheses();
  if (X509_verify_cert(check.get()) == 1)
    return {};
  ERR_clear_error();
  return X509_verify_cert_error_string(X509_STORE_CTX_get_error(check.get()));
}

/// Each node is a TLS client of the nodes it connects to, and a server of
/// those that connect to it.
std::string verify_for_both_ends(SSL_CTX* context) {
  if (auto why = verify_against_ca(context, X509_PURPOSE_SSL_CLIENT);
      !why.empty())
    return why + " (as a TLS client)";
  if (auto why = verify_against_ca(context, X509_PURPOSE_SSL_SERVER);
      !why.empty())
    return why + " (as a TLS server)";
  return {};
}

std::unique_ptr<tls_credentials> kept_credentials;

} // namespace

std::string load_tls_credentials(const std::string& certificate,
                                 const std::string& key,
                                 const std::string& ca) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context{
    SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!context)
    return "cannot set up TLS" + reason_in_parentheses();
  auto quoted = [](const std::string& path) { return "\"" + path + "\""; };
  if (SSL_CTX_use_certificate_chain_file(context.get(), certificate.c_str())
      != 1)
    return "MOTORHEAD_CLUSTER_TLS_CERT: no PEM certificate in "
           + quoted(certificate) + reason_in_parentheses();
  if (SSL_CTX_use_PrivateKey_file(context.get(), key.c_str(), SSL_FILETYPE_PEM)
      != 1)
    return "MOTORHEAD_CLUSTER_TLS_KEY: " + quoted(key)
           + " is not a PEM private key of the certificate "
           + quoted(certificate) + reason_in_parentheses();
  if (SSL_CTX_load_verify_locations(context.get(), ca.c_str(), nullptr) != 1)
    return "MOTORHEAD_CLUSTER_TLS_CA: no PEM certificate in " + quoted(ca)
           + reason_in_parentheses();
  if (auto why = verify_for_both_ends(context.get()); !why.empty())
    return "MOTORHEAD_CLUSTER_TLS_CERT: " + quoted(certificate)
           + " is not valid for the CA " + quoted(ca) + ": " + why;
  kept_credentials.reset(
    new tls_credentials{certificate, key, ca, std::move(context)});
  return {};
}

const tls_credentials* tls_credentials_in_memory() {
  return kept_credentials.get();
}

} // namespace motorhead
