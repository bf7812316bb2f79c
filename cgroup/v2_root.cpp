#include "cgroup/v2_root.hpp"

#include "cgroup/pod_process.hpp"

#include <sys/statfs.h>

#include <fstream>
#include <sstream>
#include <string>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace nodepack::cgroup {
namespace fs = std::filesystem;

namespace {

bool is_cgroup2(const fs::path& p) {
  struct statfs st {};
  return ::statfs(p.c_str(), &st) == 0 && static_cast<unsigned long>(st.f_type) == CGROUP2_SUPER_MAGIC;
}

}  // namespace

Result<fs::path> find_cgroup2_root(const HostPaths& paths) {
  // path converts to and from strings, so name the alternative explicitly.
  auto found = [](fs::path p) { return Result<fs::path>(boost::system::in_place_value, std::move(p)); };
  if (is_cgroup2(paths.cgroup)) {
    return found(paths.cgroup);
  }
  if (is_cgroup2(paths.cgroup / "unified")) {
    return found(paths.cgroup / "unified");
  }
  std::ifstream in(paths.procfs / "self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    auto dash = line.find(" - ");
    if (dash == std::string::npos) {
      continue;
    }
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") {
      continue;
    }
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, mount_point;
    head >> id >> parent >> dev >> root >> mount_point;
    fs::path mp = unescape_mountinfo_path(mount_point);
    if (is_cgroup2(mp)) {
      return found(mp);
    }
  }
  return fail("no cgroup v2 hierarchy under " + paths.cgroup.string() + " or in " +
              (paths.procfs / "self/mountinfo").string() + "; per-pod kernel metrics need cgroup v2");
}

}  // namespace nodepack::cgroup
