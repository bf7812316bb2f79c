#include "aggregator/web/assets.hpp"

namespace nodepack::web {

const Asset* find_asset(std::string_view name) {
  for (const auto& asset : embedded_assets()) {
    if (asset.name == name) {
      return &asset;
    }
  }
  return nullptr;
}

std::string_view asset_content_type(std::string_view name) {
  const auto dot = name.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
  if (ext == "js") {
    return "text/javascript; charset=utf-8";
  }
  if (ext == "css") {
    return "text/css; charset=utf-8";
  }
  if (ext == "svg") {
    return "image/svg+xml";
  }
  if (ext == "png") {
    return "image/png";
  }
  if (ext == "html") {
    return "text/html; charset=utf-8";
  }
  return "application/octet-stream";
}

}  // namespace nodepack::web
