#include "cgroup/process_cgroup.hpp"

#include <fstream>
#include <string>

namespace nodepack::cgroup {

std::optional<ContainerCgroup> container_of_process(const std::filesystem::path& procfs, std::uint32_t pid) {
  std::ifstream in(procfs / std::to_string(pid) / "cgroup");
  for (std::string line; std::getline(in, line);) {
    // "hierarchy-id:controllers:path"; the path may itself contain ':' only in theory.
    const auto first = line.find(':');
    const auto second = first == std::string::npos ? std::string::npos : line.find(':', first + 1);
    if (second == std::string::npos) {
      continue;
    }
    if (auto found = parse_container_cgroup(std::string_view(line).substr(second + 1))) {
      return found;
    }
  }
  return std::nullopt;
}

}  // namespace nodepack::cgroup
