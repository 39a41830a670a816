// OpenSSL's own words for a failure, for the messages of the TLS code
// (the nodes' credentials, the connections to Redis).
#pragma once

#include <string>

namespace motorhead {

/// The reason for OpenSSL's last failure, emptying its error queue (of
/// the errors queued, the last is the most specific); "" when none is.
std::string openssl_reason();

} // namespace motorhead
