#include "common/files.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
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

TEST_CASE("an open directory reads its files by name, as read_small_file reads them by path") {
  TempDir dir;
  std::filesystem::create_directories(dir.path / "cg/sub");
  write(dir.path / "cg/memory.current", "4096\n");
  write(dir.path / "cg/empty", "");
  const OpenDir cg(dir.path / "cg");
  REQUIRE(cg.is_open());
  CHECK(cg.read("memory.current") == std::optional<std::string>("4096\n"));
  CHECK(cg.read("empty") == std::optional<std::string>(""));
  CHECK_FALSE(cg.read("missing"));
  CHECK_FALSE(cg.read("sub"));  // a directory opens but does not read
  // The names are the directory's own files, wherever the process's working directory is.
  CHECK_FALSE(cg.read("cg/memory.current"));
  CHECK(cg.read("sub/../memory.current") == std::optional<std::string>("4096\n"));
}

TEST_CASE("an open directory that could not be opened reads nothing") {
  TempDir dir;
  write(dir.path / "file", "x");
  const OpenDir missing(dir.path / "missing");
  CHECK_FALSE(missing.is_open());
  CHECK_FALSE(missing.read("file"));
  const OpenDir not_a_directory(dir.path / "file");
  CHECK_FALSE(not_a_directory.is_open());
  CHECK_FALSE(not_a_directory.read("file"));
  CHECK_FALSE(missing.attributes());
}

TEST_CASE("an open directory's attributes are its own, as they are now") {
  // /proc/self/fd's size is the number of open descriptors (Linux 6.2+): one more opened shows.
  const OpenDir fds("/proc/self/fd");
  REQUIRE(fds.is_open());
  const auto before = fds.attributes();
  REQUIRE(before);
  CHECK(S_ISDIR(before->st_mode));
  const int extra = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(extra >= 0);
  const auto during = fds.attributes();
  ::close(extra);
  REQUIRE(during);
  CHECK(during->st_size == before->st_size + 1);
}

TEST_CASE("an open directory's files go with it when it is removed") {
  TempDir dir;
  std::filesystem::create_directories(dir.path / "cg");
  write(dir.path / "cg/pids.current", "3\n");
  const OpenDir cg(dir.path / "cg");
  std::filesystem::remove_all(dir.path / "cg");
  CHECK_FALSE(cg.read("pids.current"));  // a cgroup removed mid-scrape: nothing, not stale text
}

TEST_CASE("a held file reads what the file holds now, every time, from its start") {
  TempDir dir;
  const auto p = dir.path / "held";
  write(p, std::string(5000, 'a'));  // longer than one read
  HeldFile held(p);
  CHECK(held.read() == std::string(5000, 'a'));
  CHECK(held.read() == std::string(5000, 'a'));  // not the end the last read left
  write(p, "shorter\n");                         // rewritten in place, as the kernel regenerates
  CHECK(held.read() == "shorter\n");
}

TEST_CASE("a held file that is missing reads nothing, and is opened once it exists") {
  TempDir dir;
  const auto p = dir.path / "later";
  HeldFile held(p);
  CHECK_FALSE(held.read());
  write(p, "here\n");
  CHECK(held.read() == "here\n");
}

TEST_CASE("a held procfs file is generated afresh at each read") {
  // The soft limit on open files, changed between two reads of one held /proc/self/limits.
  rlimit before{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &before) == 0);
  REQUIRE(before.rlim_cur > 100);
  const auto soft_line = [](const std::string& limits) {
    const auto at = limits.find("Max open files");
    REQUIRE(at != std::string::npos);
    return limits.substr(at, limits.find('\n', at) - at);
  };
  HeldFile held("/proc/self/limits");
  const auto first = held.read();
  REQUIRE(first);
  rlimit lowered = before;
  lowered.rlim_cur = before.rlim_cur - 1;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  const auto second = held.read();
  ::setrlimit(RLIMIT_NOFILE, &before);
  REQUIRE(second);
  CHECK(soft_line(*first).find(std::to_string(before.rlim_cur)) != std::string::npos);
  CHECK(soft_line(*second).find(std::to_string(lowered.rlim_cur)) != std::string::npos);
  CHECK(soft_line(*first).find(std::to_string(lowered.rlim_cur)) == std::string::npos);
}
