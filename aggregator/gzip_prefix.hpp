#pragma once

// gzip for a large body that stays the same across many requests followed by a small part that
// changes each time: /metrics is the snapshot's exposition (megabytes at thousands of nodes, fixed
// until the next snapshot) plus the scrape-time families (a few kilobytes). The large part is
// deflated once, ending in a sync flush so it stops on a byte boundary; each request deflates
// only the small part and joins the two into one gzip member with the combined CRC and length.
// Recompressing everything cost ~100 ms per scrape at 5,000 nodes.

#include <zlib.h>

#include <string>
#include <string_view>

namespace nodepack::aggregator {

struct DeflatedPrefix {
  std::string deflated;  // raw deflate blocks, none final, ending byte-aligned
  uLong crc = 0;         // CRC-32 of the uncompressed prefix
  uLong length = 0;      // uncompressed length, modulo 2^32 as gzip stores it
};

DeflatedPrefix deflate_prefix(std::string_view text, int level = Z_BEST_SPEED);
// One gzip member holding prefix + tail.
std::string gzip_with_prefix(const DeflatedPrefix& prefix, std::string_view tail, int level = Z_BEST_SPEED);

}  // namespace nodepack::aggregator
