#pragma once

#include <string>

namespace motorhead {

/// Loads a node's TLS credentials as CAF's OpenSSL module will, and checks
/// them against each other: the certificate chain and the key (PEM), the
/// key matching the certificate, the CA, and the certificate valid for
/// that CA now (not expired, signed by it). Returns why they cannot serve,
/// naming the variable at fault, or "". The module itself loads them only
/// when the first peer connects, and then stops the process on a file it
/// cannot use.
std::string check_tls_credentials(const std::string& certificate,
                                  const std::string& key,
                                  const std::string& ca);

} // namespace motorhead
