// Exact and prefix routes over the request path; the query string never takes part.

#include "http/server.hpp"

namespace nodepack::http {

void Router::add(std::string path, Handler handler) {
  routes_.push_back(Route{std::move(path), false, std::move(handler)});
}

void Router::add_prefix(std::string prefix, Handler handler) {
  routes_.push_back(Route{std::move(prefix), true, std::move(handler)});
}

Reply Router::route(const Request& request) const {
  const std::string_view path = target_path(request);
  const Route* best = nullptr;
  for (const auto& route : routes_) {
    if (!route.prefix) {
      if (route.path == path) {
        return route.handler(request);  // an exact route beats any prefix
      }
      continue;
    }
    if (path.starts_with(route.path) && (best == nullptr || route.path.size() > best->path.size())) {
      best = &route;
    }
  }
  if (best != nullptr) {
    return best->handler(request);
  }
  return Reply{make_response(request, boost::beast::http::status::not_found, "404 page not found\n"), {}};
}

}  // namespace nodepack::http
