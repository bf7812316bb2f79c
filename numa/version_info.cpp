#include "metrics/build_info.hpp"
#include "numa/collector.hpp"

namespace nodepack::numa {

// numainfo_exporter set branch and revision from git, goversion from the Go runtime, kubeversion
// from its own version string (its source marks that label "TODO: clarify") and version to "1".
// The same here, with the compiler in place of the Go runtime (a `compiler` label: no Go is in
// this binary to name).
VersionInfo VersionInfo::of_this_build() {
  return VersionInfo{metrics::nodepack_branch(), metrics::compiler_version(), metrics::nodepack_version(),
                     metrics::nodepack_revision(), "1"};
}

}  // namespace nodepack::numa
