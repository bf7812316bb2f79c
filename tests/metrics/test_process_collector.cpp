#include "metrics/process_collector.hpp"
#include "tests/support/temp_dir.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <string>

using nodepack::metrics::ProcessCollector;
using nodepack::testing::TempDir;

namespace {

std::map<std::string, double> values(const ProcessCollector& collector) {
  std::map<std::string, double> out;
  for (const auto& family : collector.Collect()) {
    REQUIRE(family.metric.size() == 1);
    const auto& m = family.metric.front();
    out[family.name] = family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
  }
  return out;
}

}  // namespace

TEST_CASE("process metrics are read from the procfs given, as client_golang reads them") {
  TempDir proc;
  // A command name with a space and a parenthesis: the fields restart after the last ')'.
  // utime 250 and stime 50 ticks, starttime 12345 ticks after boot, vsize 100 MiB, rss 2560 pages.
  proc.write("self/stat",
             "4242 (node pack) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 4 0 12345 104857600 2560 "
             "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
  proc.write("stat",
             "cpu  1 2 3 4 5 6 7 0 0 0\ncpu0 1 2 3 4 5 6 7 0 0 0\nintr 1 2\nctxt 99\nbtime 1700000000\n"
             "processes 10\n");
  proc.write("self/limits",
             "Limit                     Soft Limit           Hard Limit           Units     \n"
             "Max cpu time              unlimited            unlimited            seconds   \n"
             "Max open files            1048576              1048577              files     \n"
             "Max locked memory         8388608              8388608              bytes     \n");
  for (const char* fd : {"0", "1", "2", "7"}) {
    proc.write(std::string("self/fd/") + fd, "");
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));

  const ProcessCollector collector(proc.path());
  auto v = values(collector);
  CHECK(v.at("process_cpu_seconds_total") == Approx(300 / ticks));
  CHECK(v.at("process_open_fds") == 4);
  CHECK(v.at("process_max_fds") == 1048576);  // the soft limit
  CHECK(v.at("process_virtual_memory_bytes") == 104857600);
  CHECK(v.at("process_resident_memory_bytes") == 2560 * page);
  CHECK(v.at("process_start_time_seconds") == Approx(1700000000 + 12345 / ticks));

  // No limit on open files reads as 0, as client_golang reports it.
  proc.write("self/limits",
             "Limit                     Soft Limit           Hard Limit           Units     \n"
             "Max open files            unlimited            unlimited            files     \n");
  CHECK(values(collector).at("process_max_fds") == 0);
}

TEST_CASE("process metrics of this very process are plausible") {
  const ProcessCollector collector;
  auto v = values(collector);
  CHECK(v.at("process_open_fds") >= 3);
  CHECK(v.at("process_max_fds") >= v.at("process_open_fds"));
  CHECK(v.at("process_start_time_seconds") > 1.5e9);  // after 2017: the boot time was read
}

// [not-emulated]: qemu-user answers /proc/self/stat itself, with zero for the resident set (and
// the virtual size), so under emulation this would check qemu's stand-in, not the kernel's figure.
TEST_CASE("this very process has a resident set", "[not-emulated]") {
  const ProcessCollector collector;
  auto v = values(collector);
  CHECK(v.at("process_resident_memory_bytes") > 0);
  CHECK(v.at("process_virtual_memory_bytes") >= v.at("process_resident_memory_bytes"));
}

TEST_CASE("open descriptors of this process are counted exactly") {
  // On a real proc mount the count is the fd directory's size (Linux 6.2+) or a walk of it;
  // either way, five more descriptors count five more, and the figure is the walk's without the
  // descriptor the walk itself holds (this test opens nothing concurrently).
  const ProcessCollector collector;
  const double before = values(collector).at("process_open_fds");
  int fds[5];
  for (int& fd : fds) {
    fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
  }
  const double during = values(collector).at("process_open_fds");
  std::size_t walked = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++walked;
  }
  for (int fd : fds) {
    ::close(fd);
  }
  CHECK(during == before + 5);
  CHECK(during == static_cast<double>(walked - 1));
  CHECK(values(collector).at("process_open_fds") == before);
}
