#include "common/files.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace nodepack;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "nodepack-files-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

}  // namespace

TEST_CASE("read_small_file returns every byte, across several reads and with none") {
  TempDir dir;
  std::string big;
  for (int i = 0; big.size() < 3 * 4096 + 17; ++i) {
    big += "line " + std::to_string(i) + "\n";
  }
  big.push_back('\0');  // binary content comes back as it is
  big += "tail";
  write(dir.path / "big", big);
  write(dir.path / "empty", "");
  CHECK(read_small_file(dir.path / "big") == big);
  auto empty = read_small_file(dir.path / "empty");
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("read_small_file reads procfs files, whose size says nothing") {
  auto status = read_small_file("/proc/self/status");
  REQUIRE(status);
  CHECK(status->starts_with("Name:"));
  CHECK(status->find("\nPid:\t" + std::to_string(::getpid()) + "\n") != std::string::npos);
}

TEST_CASE("read_small_file says nullopt for what is not a readable file") {
  TempDir dir;
  CHECK_FALSE(read_small_file(dir.path / "missing"));
  CHECK_FALSE(read_small_file(dir.path));  // a directory opens but does not read
}
