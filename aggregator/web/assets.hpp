#pragma once

// The web UI's static files (CSS, scripts, icon), compiled into the binary from
// aggregator/web/assets/ by embed_assets.cmake.

#include <span>
#include <string_view>

namespace nodepack::web {

struct Asset {
  std::string_view name;  // "app.js": served as /web/static/app.js
  std::string_view body;
  std::string_view etag;  // quoted, as the ETag header carries it
};

std::span<const Asset> embedded_assets();
const Asset* find_asset(std::string_view name);
// From the file name's extension; application/octet-stream when unknown.
std::string_view asset_content_type(std::string_view name);

}  // namespace nodepack::web
