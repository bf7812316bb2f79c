#include "cgroup/pod_process.hpp"

#include "common/files.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>

namespace nodepack::cgroup {
namespace fs = std::filesystem;

std::optional<int> first_live_process(const fs::path& dir, const fs::path& procfs, int max_depth) {
  if (auto procs = read_small_file(dir / "cgroup.procs")) {
    std::istringstream in(*procs);
    std::string word;
    while (in >> word) {
      int pid = 0;
      auto [ptr, ec] = std::from_chars(word.data(), word.data() + word.size(), pid);
      std::error_code fec;
      if (ec == std::errc{} && ptr == word.data() + word.size() && pid > 0 &&
          fs::exists(procfs / std::to_string(pid), fec)) {
        return pid;
      }
    }
  }
  if (max_depth <= 0) {
    return std::nullopt;
  }
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_directory(ec2) && !it->is_symlink(ec2)) {
      if (auto pid = first_live_process(it->path(), procfs, max_depth - 1)) {
        return pid;
      }
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> namespace_inode(const fs::path& procfs, int pid, std::string_view kind) {
  struct stat st {};
  const fs::path p = procfs / std::to_string(pid) / "ns" / std::string(kind);
  if (::stat(p.c_str(), &st) != 0) {  // follows the ns link to the nsfs inode
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(st.st_ino);
}

std::optional<NamespaceReaders::Reader> NamespaceReaders::find(std::uint64_t key, std::span<const fs::path> cgroups) {
  if (auto it = readers_.find(key); it != readers_.end()) {
    if (namespace_inode(procfs_, it->second.pid, kind_) == it->second.ns) {
      return it->second;
    }
    readers_.erase(it);
  }
  for (const auto& dir : cgroups) {
    if (auto pid = first_live_process(dir, procfs_)) {
      const Reader reader{*pid, namespace_inode(procfs_, *pid, kind_)};
      if (reader.ns) {
        readers_.insert_or_assign(key, reader);
      }
      return reader;
    }
  }
  return std::nullopt;
}

void NamespaceReaders::retain(const std::function<bool(std::uint64_t)>& keep) {
  std::erase_if(readers_, [&](const auto& kv) { return !keep(kv.first); });
}

std::optional<HostNamespace> host_namespace(const fs::path& procfs, std::string_view kind) {
  for (const char* who : {"1", "self"}) {
    struct stat st {};
    const fs::path p = procfs / who / "ns" / std::string(kind);
    if (::stat(p.c_str(), &st) == 0) {
      return HostNamespace{static_cast<std::uint64_t>(st.st_ino), p.string()};
    }
  }
  return std::nullopt;
}

Result<HostNamespace> require_host_namespace(const fs::path& procfs, std::string_view kind,
                                             std::string_view needed_for) {
  if (auto host = host_namespace(procfs, kind)) {
    return *host;
  }
  return fail("cannot read " + (procfs / "1/ns" / std::string(kind)).string() + " nor " +
              (procfs / "self/ns" / std::string(kind)).string() + ": the node's namespace is needed " +
              std::string(needed_for) +
              " (mount the host's /proc under --host-root; other processes' namespaces need CAP_SYS_PTRACE)");
}

std::string unescape_mountinfo_path(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      std::string_view oct = s.substr(i + 1, 3);
      if (std::all_of(oct.begin(), oct.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out.push_back(static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace nodepack::cgroup
