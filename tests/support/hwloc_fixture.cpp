#include "tests/support/hwloc_fixture.hpp"

#include "tests/support/fixtures.hpp"

#include <unistd.h>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace nodepack::numa::test {

using nodepack::testing::fixtures;
using nodepack::testing::read_file;

std::filesystem::path unpack_hwloc_fixture(const std::string& name, const TempDir& into) {
  return unpack_tree(fixtures() / "hwloc" / (name + ".tar.bz2"), into);
}

std::filesystem::path unpack_shape_fixture(const std::string& name, const TempDir& into) {
  return unpack_tree(fixtures() / "numa-shapes" / (name + ".tar.bz2"), into);
}

std::filesystem::path unpack_tree(const std::filesystem::path& tarball, const TempDir& into) {
  const std::string cmd = "tar -xjf '" + tarball.string() + "' -C '" + into.path().string() + "'";
  if (std::system(cmd.c_str()) != 0) {
    throw std::runtime_error("cannot unpack " + tarball.string());
  }
  // Fixture files are read-only in the tarball; tests that edit them need write access.
  std::filesystem::path root;
  for (const auto& e : std::filesystem::directory_iterator(into.path())) {
    if (e.is_directory()) {
      root = e.path();
    }
  }
  std::system(("chmod -R u+w '" + into.path().string() + "'").c_str());
  return root;
}

namespace {

std::uint64_t unit_bytes(const std::string& unit) {
  if (unit == "KiB" || unit == "KB") {
    return 1ull << 10;
  }
  if (unit == "MiB" || unit == "MB") {
    return 1ull << 20;
  }
  if (unit == "GiB" || unit == "GB") {
    return 1ull << 30;
  }
  if (unit == "TiB" || unit == "TB") {
    return 1ull << 40;
  }
  return 1;
}

CpuSet from_hex_mask(const std::string& text) {
  // "0x0000000f" or "0x00000001,0xffffffff": comma-separated 32-bit words, most significant first.
  std::vector<std::string> words;
  std::stringstream ss(text);
  std::string w;
  while (std::getline(ss, w, ',')) {
    words.push_back(w.rfind("0x", 0) == 0 ? w.substr(2) : w);
  }
  std::vector<int> ids;
  int base = 0;
  for (auto it = words.rbegin(); it != words.rend(); ++it, base += 32) {
    const std::uint64_t v = std::stoull(*it, nullptr, 16);
    for (int bit = 0; bit < 32; ++bit) {
      if ((v >> bit) & 1u) {
        ids.push_back(base + bit);
      }
    }
  }
  return CpuSet(std::move(ids));
}

std::string attr(const std::string& line, const std::string& name) {
  const std::regex re(name + "=\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(line, m, re) ? m[1].str() : std::string();
}

}  // namespace

Expected read_console(const std::filesystem::path& console) {
  // Object lines are indented two spaces per level. A NUMANode is a memory child of the object
  // one level up; the PUs below that object are the node's.
  struct Line {
    std::size_t indent;
    std::string type;
  };
  const std::regex obj_re(R"(^( *)(\w+) L#\d+ \((?:P#(\d+))?(.*)\)$)");
  const std::regex local_re(R"(local=(\d+)([KMGT]i?B))");
  std::istringstream in(read_file(console));
  std::string line;
  std::vector<Line> stack;
  std::vector<std::size_t> node_parent_depth;  // stack depth of each node's parent
  std::vector<std::vector<std::size_t>> node_parent_ids;
  Expected out;
  std::vector<std::size_t> ancestry_ids;  // unique id per object line, parallel to stack
  std::size_t next_id = 0;
  std::vector<std::size_t> node_anchor;                       // anchor object id per node
  std::vector<std::pair<int, std::vector<std::size_t>>> pus;  // os index, ancestor ids
  while (std::getline(in, line)) {
    // Top-level Machine line has no L#... keep it as the root anchor.
    if (line.rfind("Machine", 0) == 0) {
      stack = {{0, "Machine"}};
      ancestry_ids = {next_id++};
      continue;
    }
    std::smatch m;
    if (!std::regex_match(line, m, obj_re)) {
      continue;
    }
    const std::size_t indent = m[1].length();
    while (!stack.empty() && stack.back().indent >= indent) {
      stack.pop_back();
      ancestry_ids.pop_back();
    }
    const std::string type = m[2].str();
    if (type == "NUMANode") {
      ExpectedNode n;
      n.id = static_cast<unsigned>(std::stoul(m[3].str()));
      std::smatch lm;
      const std::string rest = m[4].str();
      if (std::regex_search(rest, lm, local_re)) {
        n.memory_printed = std::make_pair(std::stoull(lm[1].str()), unit_bytes(lm[2].str()));
      }
      out.nodes.push_back(n);
      node_anchor.push_back(ancestry_ids.empty() ? 0 : ancestry_ids.back());
      continue;  // memory children hold no PUs
    }
    stack.push_back({indent, type});
    ancestry_ids.push_back(next_id++);
    if (type == "PU") {
      pus.emplace_back(std::stoi(m[3].str()), ancestry_ids);
    }
  }
  for (std::size_t i = 0; i < out.nodes.size(); ++i) {
    std::vector<int> ids;
    for (const auto& [os, anc] : pus) {
      for (auto a : anc) {
        if (a == node_anchor[i]) {
          ids.push_back(os);
        }
      }
    }
    out.nodes[i].cpus = CpuSet(std::move(ids));
  }
  return out;
}

Expected read_xml(const std::filesystem::path& xml) {
  Expected out;
  std::istringstream in(read_file(xml));
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("<object type=\"Machine\"") != std::string::npos) {
      out.complete_node_count = static_cast<unsigned>(from_hex_mask(attr(line, "complete_nodeset")).size());
    } else if (line.find("<object type=\"NUMANode\"") != std::string::npos) {
      ExpectedNode n;
      n.id = static_cast<unsigned>(std::stoul(attr(line, "os_index")));
      n.cpus = from_hex_mask(attr(line, "complete_cpuset"));
      n.memory_exact = std::stoull(attr(line, "local_memory"));
      out.nodes.push_back(n);
    }
  }
  return out;
}

}  // namespace nodepack::numa::test
