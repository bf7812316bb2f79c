#include "bpf/libbpf_log.hpp"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>

namespace nodepack::bpf {
namespace {

int print_to_spdlog(enum libbpf_print_level level, const char* format, va_list args) {
  spdlog::level::level_enum lvl = spdlog::level::trace;
  switch (level) {
    case LIBBPF_WARN:
      lvl = spdlog::level::warn;
      break;
    case LIBBPF_INFO:
      lvl = spdlog::level::debug;
      break;
    case LIBBPF_DEBUG:
      lvl = spdlog::level::trace;
      break;
  }
  if (!spdlog::should_log(lvl)) {
    return 0;
  }
  char buf[1024];
  int n = std::vsnprintf(buf, sizeof(buf), format, args);
  if (n < 0) {
    return n;
  }
  std::string msg(buf);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) {
    msg.pop_back();
  }
  spdlog::log(lvl, "libbpf: {}", msg);
  return n;
}

}  // namespace

void route_libbpf_logs_to_spdlog() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(print_to_spdlog); });
}

}  // namespace nodepack::bpf
