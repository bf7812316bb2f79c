#include "kpod/cgroupfs/cgroupfs_collector.hpp"
#include "kpod/fs/fs_collector.hpp"
#include "kpod/netiface/net_iface_collector.hpp"
#include "kpod/registry.hpp"

namespace nodepack::kpod {

std::vector<CollectorSpec> file_collectors() {
  return {
      {"cgroupfs", Profile::minimal, false,
       [](const CollectorDeps& d) { return std::make_unique<CgroupFsCollector>(d.options.paths); }},
      {"iface", Profile::standard, false,
       [](const CollectorDeps& d) { return std::make_unique<NetIfaceCollector>(d.options.paths); }},
      {"fs", Profile::standard, false,
       [](const CollectorDeps& d) {
         return std::make_unique<FsCollector>(d.options.paths, std::chrono::seconds(1), d.options.clock);
       }},
  };
}

}  // namespace nodepack::kpod
