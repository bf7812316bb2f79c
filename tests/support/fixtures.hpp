#pragma once

// Files under tests/fixtures (third-party, with their licences) and small file helpers.

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace nodepack::testing {

inline std::filesystem::path fixtures() { return NODEPACK_FIXTURES; }

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string kubelet_fixture(const std::string& name) { return read_file(fixtures() / "kubelet" / name); }

inline void write_file(const std::filesystem::path& p, const std::string& content) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
}

// The inode of a path: a cgroup v2 directory's inode is the id BPF programs see.
inline std::uint64_t inode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_ino;
}

}  // namespace nodepack::testing
