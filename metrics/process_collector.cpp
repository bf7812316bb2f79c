#include "metrics/process_collector.hpp"

#include "metrics/family.hpp"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <string_view>

namespace nodepack::metrics {
namespace {

// Space-separated fields of one line.
std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty()) {
    const auto start = line.find_first_not_of(" \n");
    if (start == std::string_view::npos) {
      break;
    }
    line.remove_prefix(start);
    const auto end = line.find_first_of(" \n");
    out.push_back(line.substr(0, end));
    line.remove_prefix(end == std::string_view::npos ? line.size() : end);
  }
  return out;
}

double number(std::string_view text) {
  double v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

// The first field after `key` on the line that starts with it, or nothing.
std::string_view field_after(std::string_view text, std::string_view key) {
  for (std::size_t start = 0; start < text.size();) {
    const auto end = std::min(text.find('\n', start), text.size());
    const auto line = text.substr(start, end - start);
    if (line.starts_with(key)) {
      const auto fields = fields_of(line.substr(key.size()));
      return fields.empty() ? std::string_view() : fields.front();
    }
    start = end + 1;
  }
  return {};
}

// Whether `dir` is on a proc mount (a test's fixture tree is not).
bool on_procfs(const std::filesystem::path& dir) {
  struct statfs fs {};
  return ::statfs(dir.c_str(), &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
}

// Entries of a directory, counted by walking it.
std::size_t count_entries(const std::filesystem::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    ++n;
  }
  return n;
}

}  // namespace

ProcessCollector::ProcessCollector(std::filesystem::path procfs)
    : procfs_(std::move(procfs)), stat_(procfs_ / "self" / "stat"), limits_(procfs_ / "self" / "limits") {}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  std::unique_lock files_lock(files_mu_);  // two scrapes at once share the held files
  const std::string stat = stat_.read().value_or("");
  // Both held files are open before the descriptors are counted, so the count includes them at
  // every scrape, the first too.
  const std::string limits = limits_.read().value_or("");
  // The command name may contain spaces and parentheses; fields restart after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) {
    return out;
  }
  const auto f = fields_of(std::string_view(stat).substr(close + 2));
  // f[0] is field 3 (state): utime=14, stime=15, starttime=22, vsize=23, rss=24.
  if (f.size() < 22) {
    return out;
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double cpu = (number(f[11]) + number(f[12])) / ticks;
  std::call_once(boot_time_read_, [this] {
    boot_time_ = number(field_after(read_small_file(procfs_ / "stat").value_or(""), "btime "));
  });
  const std::size_t fds = open_fds();
  files_lock.unlock();
  // The soft limit; client_golang reports "unlimited" as 0 too.
  const auto soft = field_after(limits, "Max open files");
  const double max_fds = soft == "unlimited" ? 0 : number(soft);

  emit(out,
       Family::counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.").add({}, cpu),
       Family::gauge("process_open_fds", "Number of open file descriptors.").add({}, static_cast<double>(fds)),
       Family::gauge("process_max_fds", "Maximum number of open file descriptors.").add({}, max_fds),
       Family::gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.").add({}, number(f[20])),
       Family::gauge("process_resident_memory_bytes", "Resident memory size in bytes.").add({}, number(f[21]) * page),
       Family::gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
           .add({}, boot_time_ + number(f[19]) / ticks));
  return out;
}

std::size_t ProcessCollector::open_fds() const {
  const auto dir = procfs_ / "self" / "fd";
  std::call_once(fd_dir_checked_, [&] {
    fd_dir_on_procfs_ = on_procfs(dir);
    if (fd_dir_on_procfs_) {
      fd_dir_ = std::make_unique<OpenDir>(dir);
    }
  });
  // Since Linux 6.2 the size of /proc/<pid>/fd is the number of open descriptors, counted from
  // the descriptor bitmap: no directory walk, which costs a dentry per descriptor at every scrape
  // (the agent holds one per BPF map, program and link). Older kernels report 0. The directory
  // is held open (its own descriptor counted, as the held files are) to skip the path walk too.
  if (fd_dir_) {
    if (const auto st = fd_dir_->attributes(); st && st->st_size > 0) {
      return static_cast<std::size_t>(st->st_size);
    }
  }
  // A walk of the real directory lists the descriptor it reads it through: not counted, so
  // that both ways give the same figure.
  const std::size_t walked = count_entries(dir);
  return fd_dir_on_procfs_ && walked > 0 ? walked - 1 : walked;
}

}  // namespace nodepack::metrics
