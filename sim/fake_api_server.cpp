#include "sim/fake_api_server.hpp"

#include "sim/discovery.hpp"
#include "sim/tables.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <mutex>

namespace nodepack::sim {

namespace net = boost::asio;
namespace json = boost::json;
namespace bhttp = boost::beast::http;
using http::Reply;
using http::Request;

namespace {

constexpr std::size_t watch_flush_bytes = 256 * 1024;

std::string_view reason_for(unsigned code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "Unknown";
  }
}

Reply json_reply(const Request& request, bhttp::status status, std::string body) {
  auto response = http::make_response(request, status, std::move(body), "application/json");
  http::maybe_gzip(request, response);
  return Reply{std::move(response), {}};
}

Reply status_reply(const Request& request, const ApiStatus& status) {
  auto reply = json_reply(request, static_cast<bhttp::status>(status.code), json::serialize(status_object(status)));
  if (status.code == 429 || status.code == 503) {
    reply.response.set(bhttp::field::retry_after, "1");
  }
  return reply;
}

Reply status_reply(const Request& request, unsigned code, std::string message) {
  return status_reply(request, ApiStatus{code, std::string(reason_for(code)), std::move(message)});
}

std::optional<std::uint64_t> parse_uint(std::string_view s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

bool truthy(std::string_view s) { return s == "true" || s == "1"; }

// Continue tokens: unpadded base64url of {"rv":N,"ns":"...","name":"..."}; opaque to clients.
constexpr std::string_view b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(b64[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) {
    out.push_back(b64[(acc << (6 - bits)) & 0x3f]);
  }
  return out;
}

std::optional<std::string> unbase64url(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    const auto pos = b64.find(c);
    if (pos == std::string_view::npos) {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string encode_continue(std::uint64_t version, const ObjectKey& after) {
  json::object o;
  o["rv"] = version;
  o["ns"] = after.ns;
  o["name"] = after.name;
  return base64url(json::serialize(o));
}

std::optional<std::pair<std::uint64_t, ObjectKey>> decode_continue(std::string_view token) {
  const auto raw = unbase64url(token);
  if (!raw) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  const auto v = json::parse(*raw, ec);
  if (ec || !v.is_object()) {
    return std::nullopt;
  }
  const auto& o = v.get_object();
  const auto* rv = o.if_contains("rv");
  const auto* ns = o.if_contains("ns");
  const auto* name = o.if_contains("name");
  if (rv == nullptr || !rv->is_number() || ns == nullptr || !ns->is_string() || name == nullptr || !name->is_string()) {
    return std::nullopt;
  }
  boost::system::error_code num_ec;
  const auto version = rv->to_number<std::uint64_t>(num_ec);
  if (num_ec) {
    return std::nullopt;
  }
  return std::make_pair(version, ObjectKey{std::string(ns->get_string()), std::string(name->get_string())});
}

// What a resource path names: a kind, and for namespaced kinds the namespace ("" = all).
struct Target {
  Kind kind = Kind::pod;
  std::string ns;
  std::string name;
};

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    const auto slash = path.find('/');
    if (slash != 0) {
      parts.push_back(path.substr(0, slash));
    }
    if (slash == std::string_view::npos) {
      break;
    }
    path.remove_prefix(slash + 1);
  }
  return parts;
}

// /api/v1/[namespaces/NS/]RESOURCE[/NAME] and /apis/GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME].
std::optional<Target> parse_target(std::string_view path) {
  const auto parts = split_path(path);
  std::string_view group;
  std::string_view version;
  std::size_t rest = 0;
  if (parts.size() >= 3 && parts[0] == "api" && parts[1] == "v1") {
    version = "v1";
    rest = 2;
  } else if (parts.size() >= 4 && parts[0] == "apis") {
    group = parts[1];
    version = parts[2];
    rest = 3;
  } else {
    return std::nullopt;
  }
  Target t;
  std::string_view resource;
  const std::size_t n = parts.size() - rest;
  if (parts[rest] == "namespaces" && (n == 3 || n == 4)) {
    t.ns = std::string(parts[rest + 1]);
    resource = parts[rest + 2];
    if (n == 4) {
      t.name = std::string(parts[rest + 3]);
    }
  } else if (n == 1 || n == 2) {
    resource = parts[rest];
    if (n == 2) {
      t.name = std::string(parts[rest + 1]);
    }
  } else {
    return std::nullopt;
  }
  for (const auto& type : resource_types()) {
    if (type.group != group || type.version != version || type.resource != resource) {
      continue;
    }
    if (!type.namespaced && !t.ns.empty()) {
      return std::nullopt;  // a cluster-scoped kind has no namespaced path
    }
    if (type.namespaced && t.ns.empty() && !t.name.empty()) {
      return std::nullopt;  // one object of a namespaced kind is named under its namespace
    }
    t.kind = type.kind;
    return t;
  }
  return std::nullopt;
}

void append_event(std::string& out, std::string_view type, const json::object& object) {
  out += R"({"type":")";
  out += type;
  out += R"(","object":)";
  out += json::serialize(object);
  out += "}\n";
}

// The event a filtered watcher sees, as the API server's watch cache decides it: an object that
// starts matching is ADDED, one that stops matching is DELETED (its old content, the new version).
void render_event(const Event& e, const Filter& filter, std::string& out) {
  const bool now_matches = e.type != EventType::deleted && filter.matches(*e.object);
  const bool matched = e.previous && filter.matches(*e.previous);
  if (now_matches && !matched) {
    append_event(out, "ADDED", *e.object);
  } else if (now_matches && matched) {
    append_event(out, "MODIFIED", *e.object);
  } else if (matched) {
    if (e.type == EventType::deleted) {
      append_event(out, "DELETED", *e.object);
    } else {
      json::object gone = *e.previous;
      gone["metadata"].as_object()["resourceVersion"] = std::to_string(e.resource_version);
      append_event(out, "DELETED", gone);
    }
  }
}

struct WatchContext {
  std::shared_ptr<Watcher> watcher;
  Filter filter;
  WatchStart start;
  std::optional<ApiStatus> error;  // a watch that can only report this and end
  bool bookmarks = false;
  std::chrono::milliseconds bookmark_interval{60'000};
  std::optional<std::chrono::seconds> timeout;
  std::optional<net::steady_timer> timer;  // only touched on the stream's executor
};

net::awaitable<void> run_watch(std::shared_ptr<WatchContext> ctx, http::ChunkWriter& out) {
  std::string buffer;
  if (ctx->error) {
    append_event(buffer, "ERROR", status_object(*ctx->error));
    co_await out.write(buffer);
    co_return;
  }
  const auto executor = co_await net::this_coro::executor;
  ctx->timer.emplace(executor);
  {
    std::lock_guard lock(ctx->watcher->mutex);
    ctx->watcher->wake = [weak = std::weak_ptr<WatchContext>(ctx), executor] {
      net::post(executor, [weak] {
        if (auto c = weak.lock(); c && c->timer) {
          c->timer->cancel();
        }
      });
    };
  }
  const std::string_view kind = kind_name(ctx->watcher->kind);
  auto bookmark = [&](std::uint64_t version) {
    buffer += R"({"type":"BOOKMARK","object":{"kind":")";
    buffer += kind;
    buffer += R"(","apiVersion":")";
    buffer += api_version(type_of(ctx->watcher->kind));
    buffer += R"(","metadata":{"resourceVersion":")";
    buffer += std::to_string(version);
    buffer += "\"}}}\n";
  };

  for (const auto& event : ctx->start.initial) {
    render_event(*event, ctx->filter, buffer);
    if (buffer.size() >= watch_flush_bytes) {
      if (!co_await out.write(buffer)) {
        co_return;
      }
      buffer.clear();
    }
  }
  std::uint64_t sent_through = ctx->start.resource_version;

  using clock = std::chrono::steady_clock;
  const auto never = clock::time_point::max();
  const auto deadline = ctx->timeout ? clock::now() + *ctx->timeout : never;
  auto next_bookmark = ctx->bookmarks ? clock::now() + ctx->bookmark_interval : never;
  for (;;) {
    std::deque<EventPtr> batch;
    bool dropped = false;
    {
      std::lock_guard lock(ctx->watcher->mutex);
      batch.swap(ctx->watcher->pending);
      dropped = ctx->watcher->dropped;
    }
    for (const auto& event : batch) {
      render_event(*event, ctx->filter, buffer);
      sent_through = std::max(sent_through, event->resource_version);
    }
    const auto now = clock::now();
    if (now >= next_bookmark) {
      bookmark(sent_through);
      next_bookmark = now + ctx->bookmark_interval;
    }
    if (!buffer.empty()) {
      if (!co_await out.write(buffer)) {
        co_return;
      }
      buffer.clear();
    }
    if (dropped || clock::now() >= deadline) {
      co_return;
    }
    ctx->timer->expires_at(std::min(deadline, next_bookmark));
    {
      // Events queued while we were writing woke nobody (their wake-up ran before this wait).
      std::lock_guard lock(ctx->watcher->mutex);
      if (!ctx->watcher->pending.empty() || ctx->watcher->dropped) {
        continue;
      }
    }
    co_await ctx->timer->async_wait(net::as_tuple(net::use_awaitable));
  }
}

}  // namespace

struct FakeApiServer::Handlers {
  Handlers(Store& s, const FakeApiOptions& o) : store(s), options(o), access(o.token, o.identities, o.rules) {}

  Store& store;
  const FakeApiOptions& options;
  const AccessPolicy access;
  std::atomic<std::uint64_t> lists{0};
  std::atomic<std::uint64_t> watches{0};
  std::atomic<std::uint64_t> gets{0};
  std::atomic<std::uint64_t> writes{0};
  std::atomic<std::uint64_t> reviews{0};
  std::atomic<std::uint64_t> total{0};
  std::mutex version_mutex;
  std::string git_version = options.git_version;
  std::mutex fail_mutex;
  unsigned fail_count = 0;
  unsigned fail_status = 500;
  std::string address;  // host:port, for /api

  // Counting, authentication and injected failures, in front of every route.
  http::Handler guarded(std::function<Reply(const Request&)> handler) {
    return [this, handler = std::move(handler)](const Request& request) -> Reply {
      ++total;
      const auto method = request.method();
      if (method == bhttp::verb::post || method == bhttp::verb::put || method == bhttp::verb::delete_) {
        ++writes;
      } else if (auto target = parse_target(http::target_path(request))) {
        if (!target->name.empty()) {
          ++gets;
        } else if (truthy(http::query_param(request, "watch"))) {
          ++watches;
        } else {
          ++lists;
        }
      }
      if (access.enforced()) {
        const auto auth = request[bhttp::field::authorization];
        constexpr std::string_view bearer = "Bearer ";
        if (!auth.starts_with(bearer) || access.authenticate(auth.substr(bearer.size())) == nullptr) {
          return status_reply(request, 401, "Unauthorized");
        }
      }
      {
        std::lock_guard lock(fail_mutex);
        if (fail_count > 0) {
          --fail_count;
          return status_reply(request, fail_status, "injected failure");
        }
      }
      return handler(request);
    };
  }

  static Reply method_not_allowed(const Request& request, std::string_view allow) {
    auto reply = status_reply(request, 405, "the server does not allow this method on the requested resource");
    reply.response.set(bhttp::field::allow, allow);
    return reply;
  }

  Result<json::object> body_object(const Request& request) const {
    boost::system::error_code ec;
    auto v = json::parse(request.body(), ec);
    if (ec || !v.is_object()) {
      return fail("the request body is not a JSON object");
    }
    return std::move(v.as_object());
  }

  // The methods a path takes, from its kind's verbs: a collection lists and creates, an object is
  // read, replaced and deleted.
  static std::string allowed_methods(const ResourceType& type, bool collection) {
    auto has = [&](std::string_view verb) {
      return std::find(type.verbs.begin(), type.verbs.end(), verb) != type.verbs.end();
    };
    std::string allow = "GET, HEAD";
    if (collection && has("create")) {
      allow += ", POST";
    }
    if (!collection && has("update")) {
      allow += ", PUT";
    }
    if (!collection && has("delete")) {
      allow += ", DELETE";
    }
    return allow;
  }

  // GET, POST, PUT, DELETE on /api/v1/... and /apis/GROUP/VERSION/... paths, as the kind's verbs
  // allow.
  Reply resource(const Request& request) {
    const auto target = parse_target(http::target_path(request));
    if (!target) {
      return not_found(request);
    }
    const ResourceType& type = type_of(target->kind);
    const std::string allow = allowed_methods(type, target->name.empty());
    const std::string method(request.method_string());
    if (allow.find(method) == std::string::npos) {
      return method_not_allowed(request, allow);
    }
    switch (request.method()) {
      case bhttp::verb::get:
      case bhttp::verb::head:
        return read(request, *target);
      case bhttp::verb::post:
        return write(request, *target, WriteMode::create);
      case bhttp::verb::put:
        return write(request, *target, WriteMode::update);
      case bhttp::verb::delete_:
        return delete_object(request, *target, type);
      default:
        return method_not_allowed(request, "GET, HEAD, POST, PUT, DELETE");
    }
  }

  // POST to a collection creates; PUT to an object replaces it (optimistic concurrency on
  // metadata.resourceVersion: a stale one gets 409 Conflict, as leader election relies on).
  Reply write(const Request& request, const Target& target, WriteMode mode) {
    const ResourceType& type = type_of(target.kind);
    const bool collection = target.name.empty();
    if (mode == WriteMode::create ? !collection : collection) {
      return method_not_allowed(request, collection ? "GET, HEAD, POST" : "GET, HEAD, PUT, DELETE");
    }
    if (type.namespaced && target.ns.empty()) {
      return status_reply(request, 405, "create " + std::string(type.resource) + " in a namespace");
    }
    auto body = body_object(request);
    if (!body) {
      return status_reply(request, 400, body.error().message);
    }
    auto& metadata = (*body)["metadata"];
    if (!metadata.is_object()) {
      metadata = json::object();
    }
    auto& m = metadata.as_object();
    if (type.namespaced) {
      if (const auto* ns = m.if_contains("namespace");
          ns != nullptr && ns->is_string() && ns->get_string() != target.ns) {
        return status_reply(request, 400, "the namespace of the object does not match the namespace of the request");
      }
      m["namespace"] = target.ns;
    }
    if (!target.name.empty()) {
      const auto* name = m.if_contains("name");
      if (name != nullptr && name->is_string() && name->get_string() != target.name) {
        return status_reply(request, 400, "the name of the object does not match the name of the request");
      }
      m["name"] = target.name;
    }
    auto stored = store.write(target.kind, std::move(*body), mode);
    if (!stored) {
      return status_reply(request, stored.error());
    }
    return json_reply(request, mode == WriteMode::create ? bhttp::status::created : bhttp::status::ok,
                      json::serialize(**stored));
  }

  // DELETE of one object, removed at once (as with --grace-period=0 --force, since no kubelet here
  // would finish a graceful deletion). Watchers get the DELETED event; the reply is the object as
  // it was, as the real API server sends it.
  Reply delete_object(const Request& request, const Target& target, const ResourceType& type) const {
    if (target.name.empty()) {
      return method_not_allowed(request, "GET, HEAD, POST");
    }
    const auto object = store.get(target.kind, target.ns, target.name);
    if (!object || !store.remove(target.kind, target.ns, target.name)) {
      return status_reply(request, 404, std::string(type.resource) + " \"" + target.name + "\" not found");
    }
    return json_reply(request, bhttp::status::ok, json::serialize(*object));
  }

  Reply review(const Request& request, bool token_review) {
    if (request.method() != bhttp::verb::post) {
      return method_not_allowed(request, "POST");
    }
    ++reviews;
    auto body = body_object(request);
    if (!body) {
      return status_reply(request, 400, body.error().message);
    }
    return json_reply(request, bhttp::status::created,
                      json::serialize(token_review ? access.token_review(*body) : access.subject_access_review(*body)));
  }

  Reply discovery(const Request& request) const {
    if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) {
      return method_not_allowed(request, "GET, HEAD");
    }
    const auto parts = split_path(http::target_path(request));
    if (parts.size() == 1 && parts[0] == "api") {
      return json_reply(request, bhttp::status::ok, json::serialize(api_versions(address)));
    }
    if (parts.size() == 1 && parts[0] == "apis") {
      return json_reply(request, bhttp::status::ok, json::serialize(api_group_list()));
    }
    std::optional<json::object> list;
    if (parts.size() == 2 && parts[0] == "api") {
      list = api_resource_list("", parts[1]);
    } else if (parts.size() == 3 && parts[0] == "apis") {
      list = api_resource_list(parts[1], parts[2]);
    }
    return list ? json_reply(request, bhttp::status::ok, json::serialize(*list)) : not_found(request);
  }

  Reply version(const Request& request) {
    std::string git;
    {
      std::lock_guard lock(version_mutex);
      git = git_version;
    }
    // major and minor as the API server derives them from gitVersion ("v1.37.2" -> "1", "37").
    const auto dot1 = git.find('.');
    const auto dot2 = git.find('.', dot1 == std::string::npos ? git.size() : dot1 + 1);
    const std::string major = dot1 == std::string::npos ? "" : git.substr(1, dot1 - 1);
    const std::string minor = dot1 == std::string::npos ? "" : git.substr(dot1 + 1, dot2 - dot1 - 1);
    json::object o{{"major", major},           {"minor", minor},
                   {"gitVersion", git},        {"gitCommit", "0000000000000000000000000000000000000000"},
                   {"gitTreeState", "clean"},  {"buildDate", "2025-01-01T00:00:00Z"},
                   {"goVersion", "go1.23.0"},  {"compiler", "gc"},
                   {"platform", "linux/amd64"}};
    return json_reply(request, bhttp::status::ok, json::serialize(o));
  }

  static Reply not_found(const Request& request) {
    return status_reply(request, 404, "the server could not find the requested resource");
  }

  Reply read(const Request& request, const Target& target) const {
    const ResourceType& type = type_of(target.kind);
    const bool table = wants_table(request[bhttp::field::accept]);
    if (!target.name.empty()) {
      const auto object = store.get(target.kind, target.ns, target.name);
      if (!object) {
        return status_reply(request, 404, std::string(type.resource) + " \"" + target.name + "\" not found");
      }
      if (table) {
        return table_reply(request, target.kind, {object}, store.resource_version());
      }
      return json_reply(request, bhttp::status::ok, json::serialize(*object));
    }
    Filter filter;
    filter.ns = target.ns;
    auto labels = LabelSelector::parse(http::query_param(request, "labelSelector"));
    if (!labels) {
      return status_reply(request, 400, labels.error().message);
    }
    filter.labels = std::move(*labels);
    std::vector<std::string_view> supported{"metadata.name", "metadata.namespace"};
    supported.insert(supported.end(), type.field_selectors.begin(), type.field_selectors.end());
    auto fields = FieldSelector::parse(http::query_param(request, "fieldSelector"), supported);
    if (!fields) {
      return status_reply(request, 400, fields.error().message);
    }
    filter.fields = std::move(*fields);
    if (truthy(http::query_param(request, "watch"))) {
      return watch(request, target.kind, std::move(filter));
    }
    return list(request, target.kind, filter, table);
  }

  static Reply table_reply(const Request& request, Kind kind, const std::vector<ObjectPtr>& items,
                           std::uint64_t resource_version) {
    auto reply =
        json_reply(request, bhttp::status::ok,
                   json::serialize(make_table(kind, items, resource_version, std::chrono::system_clock::now())));
    reply.response.set(bhttp::field::content_type, "application/json;as=Table;v=v1;g=meta.k8s.io");
    return reply;
  }

  Reply list(const Request& request, Kind kind, const Filter& filter, bool table) const {
    std::size_t limit = 0;
    if (const auto text = http::query_param(request, "limit"); !text.empty()) {
      const auto parsed = parse_uint(text);
      if (!parsed) {
        return status_reply(request, 400, "limit must be a non-negative integer, got \"" + text + "\"");
      }
      limit = static_cast<std::size_t>(*parsed);
    }
    std::optional<std::uint64_t> at_version;
    std::optional<ObjectKey> after;
    const auto token = http::query_param(request, "continue");
    if (!token.empty()) {
      const auto decoded = decode_continue(token);
      if (!decoded) {
        return status_reply(request, 400, "continue key is not valid");
      }
      at_version = decoded->first;
      after = decoded->second;
    } else if (const auto rv = http::query_param(request, "resourceVersion"); !rv.empty()) {
      const auto parsed = parse_uint(rv);
      if (!parsed) {
        return status_reply(request, 400, "invalid resource version \"" + rv + "\"");
      }
      if (http::query_param(request, "resourceVersionMatch") == "Exact") {
        at_version = *parsed;
      }
    }
    auto page = store.list(kind, filter, at_version, after, limit);
    if (!page) {
      auto status = page.error();
      status.message = token.empty() ? "too old resource version: " + std::to_string(*at_version)
                                     : "The provided continue parameter is too old to display a consistent list "
                                       "result. You can start a new list without the continue parameter.";
      return status_reply(request, status);
    }
    if (table) {
      return table_reply(request, kind, page->items, page->resource_version);
    }
    std::string body = R"({"kind":")";
    body += kind_name(kind);
    body += R"(List","apiVersion":")";
    body += api_version(type_of(kind));
    body += R"(","metadata":{"resourceVersion":")";
    body += std::to_string(page->resource_version);
    body += '"';
    if (page->continue_after) {
      body += R"(,"continue":")";
      body += encode_continue(page->resource_version, *page->continue_after);
      body += '"';
    }
    body += R"(},"items":[)";
    bool first = true;
    for (const auto& item : page->items) {
      if (!first) {
        body += ',';
      }
      first = false;
      body += json::serialize(*item);
    }
    body += "]}";
    return json_reply(request, bhttp::status::ok, std::move(body));
  }

  Reply watch(const Request& request, Kind kind, Filter filter) const {
    auto ctx = std::make_shared<WatchContext>();
    ctx->watcher = std::make_shared<Watcher>(kind);
    ctx->filter = std::move(filter);
    ctx->bookmarks = truthy(http::query_param(request, "allowWatchBookmarks"));
    ctx->bookmark_interval = options.bookmark_interval;
    if (const auto text = http::query_param(request, "timeoutSeconds"); !text.empty()) {
      const auto seconds = parse_uint(text);
      if (!seconds) {
        return status_reply(request, 400, "timeoutSeconds must be a non-negative integer");
      }
      ctx->timeout = std::chrono::seconds(*seconds);
    }
    std::optional<std::uint64_t> from;
    if (const auto rv = http::query_param(request, "resourceVersion"); !rv.empty()) {
      from = parse_uint(rv);
      if (!from) {
        return status_reply(request, 400, "invalid resource version \"" + rv + "\"");
      }
    }
    auto start = store.watch(ctx->watcher, from);
    if (start) {
      ctx->start = std::move(*start);
    } else {
      ctx->error = start.error();
    }
    Reply reply{http::make_response(request, bhttp::status::ok, "", "application/json"), {}};
    reply.stream = [ctx](http::ChunkWriter& out) { return run_watch(ctx, out); };
    return reply;
  }
};

FakeApiServer::FakeApiServer(FakeApiOptions options)
    : options_(std::move(options)),
      store_(std::make_unique<Store>(options_.history_limit, SystemClock::instance(), options_.seed)),
      handlers_(std::make_unique<Handlers>(*store_, options_)) {}

FakeApiServer::~FakeApiServer() { stop(); }

Result<void> FakeApiServer::start(std::string_view address) {
  if (server_) {
    return fail("fake API server already started");
  }
  io_ = std::make_unique<net::io_context>(1);
  http::Router router;
  auto& h = *handlers_;
  auto discovery = h.guarded([&h](const Request& r) { return h.discovery(r); });
  router.add("/api", discovery);
  router.add("/api/v1", discovery);
  router.add("/apis", discovery);
  router.add("/version", h.guarded([&h](const Request& r) { return h.version(r); }));
  router.add("/apis/authentication.k8s.io/v1/tokenreviews",
             h.guarded([&h](const Request& r) { return h.review(r, true); }));
  router.add("/apis/authorization.k8s.io/v1/subjectaccessreviews",
             h.guarded([&h](const Request& r) { return h.review(r, false); }));
  auto resource = h.guarded([&h](const Request& r) { return h.resource(r); });
  router.add_prefix("/api/v1/", resource);
  // A group version's own path is discovery; anything below it is a resource.
  router.add_prefix("/apis/", h.guarded([&h](const Request& r) {
    return split_path(http::target_path(r)).size() == 3 ? h.discovery(r) : h.resource(r);
  }));
  router.add_prefix("/", h.guarded(&Handlers::not_found));
  server_ = std::make_unique<http::Server>(*io_, std::move(router), options_.limits);
  if (auto listened = server_->listen(address); !listened) {
    server_.reset();
    io_.reset();
    return listened.error();
  }
  const auto endpoint = server_->endpoint();
  port_ = endpoint.port();
  const auto host =
      endpoint.address().is_unspecified()
          ? std::string("127.0.0.1")
          : (endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]" : endpoint.address().to_string());
  handlers_->address = host + ":" + std::to_string(port_);
  thread_ = std::thread([this] { io_->run(); });
  return {};
}

void FakeApiServer::stop() {
  if (!server_) {
    return;
  }
  store_->drop_watches();
  server_->stop();
  if (thread_.joinable()) {
    thread_.join();
  }
  server_.reset();
  io_.reset();
}

std::uint16_t FakeApiServer::port() const { return port_; }
void FakeApiServer::set_version(std::string git_version) {
  std::lock_guard lock(handlers_->version_mutex);
  handlers_->git_version = std::move(git_version);
}

std::string FakeApiServer::url() const { return (options_.limits.tls ? "https://" : "http://") + handlers_->address; }

Result<json::object> FakeApiServer::upsert(Kind kind, json::object object) {
  auto stored = store_->upsert(kind, std::move(object));
  if (!stored) {
    return stored.error();
  }
  return **stored;
}

bool FakeApiServer::remove(Kind kind, std::string_view ns, std::string_view name) {
  return store_->remove(kind, ns, name);
}

std::optional<json::object> FakeApiServer::get(Kind kind, std::string_view ns, std::string_view name) const {
  auto object = store_->get(kind, ns, name);
  if (!object) {
    return std::nullopt;
  }
  return *object;
}

std::vector<ObjectPtr> FakeApiServer::objects(Kind kind) const { return store_->all(kind); }
void FakeApiServer::compact() { store_->compact(); }
void FakeApiServer::drop_watches() { store_->drop_watches(); }

void FakeApiServer::set_fail_next(unsigned count, unsigned status) {
  std::lock_guard lock(handlers_->fail_mutex);
  handlers_->fail_count = count;
  handlers_->fail_status = status;
}

std::uint64_t FakeApiServer::request_count(std::string_view verb) const {
  if (verb == "list") {
    return handlers_->lists.load();
  }
  if (verb == "watch") {
    return handlers_->watches.load();
  }
  if (verb == "get") {
    return handlers_->gets.load();
  }
  if (verb == "write") {
    return handlers_->writes.load();
  }
  if (verb == "review") {
    return handlers_->reviews.load();
  }
  return 0;
}

std::uint64_t FakeApiServer::total_requests() const { return handlers_->total.load(); }
std::uint64_t FakeApiServer::resource_version() const { return store_->resource_version(); }
std::size_t FakeApiServer::watch_count() const { return store_->watch_count(); }

}  // namespace nodepack::sim
