#include "core/process_metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/build_info.hpp"

namespace motorhead::metrics {

namespace {

/// The fields of /proc/self/stat that the series need.
struct process_stat {
  double cpu_seconds = 0;
  double start_seconds_after_boot = 0;
  double virtual_bytes = 0;
  double resident_bytes = 0;
};

/// /proc/self/stat: the command name (field 2) may hold spaces and
/// parentheses, so the fields are counted from its closing parenthesis.
bool read_stat(process_stat& stat) {
  std::ifstream file{"/proc/self/stat"};
  std::string line;
  if (!std::getline(file, line))
    return false;
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return false;
  std::istringstream fields{line.substr(close + 2)};
  std::string field;
  double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  // Field 3 (state) is the first after the parenthesis.
  for (int number = 3; fields >> field; ++number) {
    switch (number) {
      case 14: // utime
      case 15: // stime
        stat.cpu_seconds += std::stod(field) / ticks;
        break;
      case 22:
        stat.start_seconds_after_boot = std::stod(field) / ticks;
        break;
      case 23:
        stat.virtual_bytes = std::stod(field);
        break;
      case 24:
        stat.resident_bytes = std::stod(field) * page;
        return true;
      default:
        break;
    }
  }
  return false;
}

/// The boot time, in seconds since the Unix epoch (/proc/stat's btime).
double boot_time() {
  std::ifstream file{"/proc/stat"};
  std::string key;
  double value = 0;
  while (file >> key) {
    if (key == "btime" && file >> value)
      return value;
    file.ignore(1 << 20, '\n');
  }
  return 0;
}

double open_descriptors() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr)
    return 0;
  double count = 0;
  while (auto* entry = ::readdir(dir))
    if (entry->d_name[0] != '.')
      ++count;
  ::closedir(dir);
  return count - 1; // the descriptor this listing used
}

void gauge_sample(text_writer& out, std::string_view name,
                  std::string_view help, double value) {
  out.family(name, "gauge", help);
  out.sample(name, {}, value);
}

} // namespace

void render_process_metrics(text_writer& out) {
  process_stat stat;
  if (read_stat(stat)) {
    out.family("process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.");
    out.sample("process_cpu_seconds_total", {}, stat.cpu_seconds);
    gauge_sample(out, "process_resident_memory_bytes",
                 "Resident memory size in bytes.", stat.resident_bytes);
    gauge_sample(out, "process_virtual_memory_bytes",
                 "Virtual memory size in bytes.", stat.virtual_bytes);
    // Read once: the start time does not change.
    static const double start_time = boot_time() + stat.start_seconds_after_boot;
    gauge_sample(out, "process_start_time_seconds",
                 "Start time of the process since unix epoch in seconds.",
                 start_time);
  }
  gauge_sample(out, "process_open_fds", "Number of open file descriptors.",
               open_descriptors());
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0)
    gauge_sample(out, "process_max_fds",
                 "Maximum number of open file descriptors.",
                 static_cast<double>(limit.rlim_cur));
}

void render_build_info(text_writer& out) {
  out.family("motorhead_build_info", "gauge",
             "Always 1; its labels name the release and the commit.");
  out.sample("motorhead_build_info",
             labels({{"version", build_version}, {"commit", build_commit}}), 1);
}

} // namespace motorhead::metrics
