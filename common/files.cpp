#include "common/files.hpp"

#include <fstream>
#include <sstream>

namespace nodepack {

std::optional<std::string> read_small_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return std::nullopt;
  }
  return ss.str();
}

}  // namespace nodepack
