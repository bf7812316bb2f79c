// Exact and prefix routes over the request path; the query string never takes part.

#include "http/server.hpp"

namespace nodepack::http {

void Router::add(std::string path, Handler handler) {
  routes_.push_back(Route{std::move(path), false, std::move(handler), {}});
}

void Router::add_prefix(std::string prefix, Handler handler) {
  routes_.push_back(Route{std::move(prefix), true, std::move(handler), {}});
}

void Router::add_async(std::string path, AsyncHandler handler) {
  routes_.push_back(Route{std::move(path), false, {}, std::move(handler)});
}

void Router::add_async_prefix(std::string prefix, AsyncHandler handler) {
  routes_.push_back(Route{std::move(prefix), true, {}, std::move(handler)});
}

const Router::Route* Router::match(std::string_view path) const {
  const Route* best = nullptr;
  for (const auto& route : routes_) {
    if (!route.prefix) {
      if (route.path == path) {
        return &route;  // an exact route beats any prefix
      }
      continue;
    }
    if (path.starts_with(route.path) && (best == nullptr || route.path.size() > best->path.size())) {
      best = &route;
    }
  }
  return best;
}

namespace {
Reply not_found(const Request& request) {
  return Reply{make_response(request, boost::beast::http::status::not_found, "404 page not found\n"), {}};
}
}  // namespace

Reply Router::route(const Request& request) const {
  const Route* route = match(target_path(request));
  if (route == nullptr) {
    return not_found(request);
  }
  if (!route->handler) {
    return Reply{make_response(request, boost::beast::http::status::internal_server_error,
                               "this route needs the asynchronous router\n"),
                 {}};
  }
  return route->handler(request);
}

boost::asio::awaitable<Reply> Router::route_async(const Request& request, RequestInfo info) const {
  const Route* route = match(target_path(request));
  if (route == nullptr) {
    co_return not_found(request);
  }
  if (route->async_handler) {
    co_return co_await route->async_handler(request, info);
  }
  co_return route->handler(request);
}

}  // namespace nodepack::http
