#include "metrics/build_info.hpp"

#include "metrics/family.hpp"

#ifndef NODEPACK_VERSION
#define NODEPACK_VERSION "dev"
#endif
#ifndef NODEPACK_BRANCH
#define NODEPACK_BRANCH "unknown"
#endif
#ifndef NODEPACK_REVISION
#define NODEPACK_REVISION "unknown"
#endif

namespace nodepack::metrics {

std::vector<prometheus::MetricFamily> BuildInfoCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  Family::gauge("nodepack_build_info", "A metric with a constant '1' value labeled by version, revision and compiler.")
      .add({{"version", nodepack_version()}, {"revision", nodepack_revision()}, {"compiler", compiler_version()}}, 1)
      .into(out);
  return out;
}

std::string nodepack_version() { return NODEPACK_VERSION; }
std::string nodepack_revision() { return NODEPACK_REVISION; }
std::string nodepack_branch() { return NODEPACK_BRANCH; }
std::string compiler_version() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

}  // namespace nodepack::metrics
