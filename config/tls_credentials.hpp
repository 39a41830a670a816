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

/// Replaces the paths of the three files with paths of copies held in
/// memory by this process (`/proc/self/fd/N` of a memfd each, open until
/// it exits), and answers why it could not, or "". CAF's OpenSSL module
/// reads the files again for every connection and stops the process when
/// one cannot serve: a file moved away or rotated in place while the node
/// runs would stop it at the next connection, whoever made it. The node
/// keeps the credentials it started with; new ones take a restart.
std::string pin_tls_credentials(std::string& certificate, std::string& key,
                                std::string& ca);

} // namespace motorhead
