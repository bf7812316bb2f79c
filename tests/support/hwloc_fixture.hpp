#pragma once

// Unpacks an hwloc test tarball into a private temporary directory and reads hwloc's expected
// output (.console or .xml) into comparable facts.

#include "numa/cpuset.hpp"
#include "tests/support/temp_dir.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nodepack::numa::test {

using nodepack::testing::TempDir;

// Each returns the root of the unpacked tree (the tarball's single top directory).
std::filesystem::path unpack_tree(const std::filesystem::path& tarball, const TempDir& into);
// tests/fixtures/hwloc/<name>.tar.bz2: hwloc's own machine dumps.
std::filesystem::path unpack_hwloc_fixture(const std::string& name, const TempDir& into);
// tests/fixtures/numa-shapes/<name>.tar.bz2: the tiered and GPU-memory shapes (see its README).
std::filesystem::path unpack_shape_fixture(const std::string& name, const TempDir& into);

struct ExpectedNode {
  unsigned id = 0;
  CpuSet cpus;
  // From .console: memory as printed ("8190MiB"), compared allowing hwloc's rounding.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> memory_printed;  // value, unit in bytes
  std::optional<std::uint64_t> memory_exact;                              // from .xml
};

struct Expected {
  std::vector<ExpectedNode> nodes;
  std::optional<unsigned> complete_node_count;  // .xml: weight of the machine's complete_nodeset
};

Expected read_console(const std::filesystem::path& console);
Expected read_xml(const std::filesystem::path& xml);

}  // namespace nodepack::numa::test
