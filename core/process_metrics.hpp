// The process' own series under the names every Prometheus client library
// uses (process_cpu_seconds_total, process_resident_memory_bytes, ...), read
// from /proc at each scrape, and motorhead_build_info.
#pragma once

#include "core/metrics.hpp"

namespace motorhead::metrics {

void render_process_metrics(text_writer& out);

/// motorhead_build_info{version,commit} 1.
void render_build_info(text_writer& out);

} // namespace motorhead::metrics
