// `motorhead --check-health [URL]`: a health check for containers that
// needs no other tool (the runtime image has no curl).
#pragma once

#include <string>

namespace motorhead {

/// The URL checked when none is given: /readyz of the server on PORT
/// (process up and Redis reachable).
std::string default_health_url();

/// GETs `url` (at most 5 s); the exit status: 0 for an answer 2xx, else 1
/// with the reason on stderr.
int check_health(const std::string& url);

} // namespace motorhead
