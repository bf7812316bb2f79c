#pragma once

// Writing a kubelet checkpoint as the kubelet does: the content with the checksum the kubelet
// computes for its layout (taken from the agent's own verifier, so what the simulator writes is
// what the agent accepts from a real kubelet), replacing the file atomically.

#include "common/result.hpp"
#include "numa/checkpoint.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace nodepack::sim {

// What `check` computed for `layout`; an error when that layout was not tried.
Result<std::uint32_t> computed_checksum(const numa::ChecksumCheck& check, std::string_view layout);

// Replaces `file` with `content`: readers see the old file or the new one, never half.
Result<void> replace_file(const std::filesystem::path& file, const std::string& content);

// Writes `doc` to `file` with doc[checksum_key] (a placeholder the caller put where the kubelet
// puts the field) set to what `parse`, the agent's parser of that file, computed for `layout`.
template <class Parse>
Result<void> write_checkpoint(boost::json::object doc, std::string_view checksum_key, std::string_view layout,
                              const std::filesystem::path& file, Parse parse) {
  auto parsed = parse(boost::json::serialize(doc));
  if (!parsed) {
    return fail(file.filename().string() + " does not parse: " + parsed.error().message);
  }
  auto checksum = computed_checksum(parsed->checksum, layout);
  if (!checksum) {
    return checksum.error();
  }
  doc[checksum_key] = *checksum;
  return replace_file(file, boost::json::serialize(doc));
}

}  // namespace nodepack::sim
