#include "sim/checkpoint_writer.hpp"

#include <algorithm>
#include <fstream>

namespace nodepack::sim {
namespace fs = std::filesystem;

Result<std::uint32_t> computed_checksum(const numa::ChecksumCheck& check, std::string_view layout) {
  const auto it = std::find(check.tried.begin(), check.tried.end(), layout);
  if (it == check.tried.end()) {
    return fail("no " + std::string(layout) + " checksum computed");
  }
  return check.computed.at(static_cast<std::size_t>(it - check.tried.begin()));
}

Result<void> replace_file(const fs::path& file, const std::string& content) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  const fs::path temporary = file.parent_path() / ("." + file.filename().string() + ".tmp");
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << content;
    if (!out.flush()) {
      return fail("cannot write " + temporary.string());
    }
  }
  fs::rename(temporary, file, ec);
  if (ec) {
    return fail("cannot replace " + file.string() + ": " + ec.message());
  }
  return {};
}

}  // namespace nodepack::sim
