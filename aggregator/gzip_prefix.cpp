#include "aggregator/gzip_prefix.hpp"

#include <algorithm>

namespace nodepack::aggregator {
namespace {

// Raw deflate (no header) of `in`, flushed with `flush`; appended to `out`. The output grows as
// deflate fills it rather than being sized for the worst case (deflateBound is about the input's
// size: 80 MB for a 65,000-node exposition that compresses to 5 MB).
void raw_deflate(std::string_view in, int level, int flush, std::string& out) {
  z_stream zs{};
  deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  const std::size_t start = out.size();
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::size_t step = std::max<std::size_t>(in.size() / 8, 4096);
  do {
    const std::size_t used = start + zs.total_out;
    out.resize(used + step);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    zs.avail_out = static_cast<uInt>(step);
    deflate(&zs, flush);
    step = std::max<std::size_t>(step, out.size() / 4);
  } while (zs.avail_out == 0);  // a full output may have more to come
  out.resize(start + zs.total_out);
  deflateEnd(&zs);
}

void put_le32(std::string& out, uLong v) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

}  // namespace

DeflatedPrefix deflate_prefix(std::string_view text, int level) {
  DeflatedPrefix prefix;
  // Z_SYNC_FLUSH ends with an empty stored block: byte-aligned and not final, so another raw
  // deflate stream can follow it as the rest of the same stream (it will not refer back into the
  // prefix, which deflate never requires).
  raw_deflate(text, level, Z_SYNC_FLUSH, prefix.deflated);
  prefix.crc = crc32(0L, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size()));
  prefix.length = static_cast<uLong>(text.size());
  return prefix;
}

std::string gzip_with_prefix(const DeflatedPrefix& prefix, std::string_view tail, int level) {
  std::string out;
  out.reserve(prefix.deflated.size() + tail.size() / 4 + 64);
  // gzip header: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
  out.append("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  out += prefix.deflated;
  raw_deflate(tail, level, Z_FINISH, out);
  const uLong tail_crc = crc32(0L, reinterpret_cast<const Bytef*>(tail.data()), static_cast<uInt>(tail.size()));
  put_le32(out, crc32_combine(prefix.crc, tail_crc, static_cast<z_off_t>(tail.size())));
  put_le32(out, (prefix.length + static_cast<uLong>(tail.size())) & 0xffffffffUL);
  return out;
}

}  // namespace nodepack::aggregator
