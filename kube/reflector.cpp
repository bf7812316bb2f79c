#include "kube/reflector.hpp"

#include "common/url.hpp"
#include "kube/pruned_json.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <optional>

#include <malloc.h>

namespace nodepack::kube {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// The message of a Kubernetes Status body, or the start of the body when it is not one.
std::string status_message(const ApiResponse& response) {
  boost::system::error_code ec;
  const auto parsed = json::parse(response.body, ec);
  if (!ec && parsed.is_object()) {
    if (const auto* message = parsed.as_object().if_contains("message"); message != nullptr && message->is_string()) {
      return "HTTP " + std::to_string(response.status) + ": " + std::string(message->get_string());
    }
  }
  return "HTTP " + std::to_string(response.status) + ": " + response.body.substr(0, 200);
}

std::string metadata_string(const json::object& object, std::string_view key) {
  const auto* metadata = object.if_contains("metadata");
  if (metadata == nullptr || !metadata->is_object()) {
    return {};
  }
  const auto* value = metadata->as_object().if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : std::string();
}

ApiError bad_answer(std::string message) { return ApiError{ApiErrorKind::bad_answer, std::move(message)}; }

// A body over its bound, with what was being read and the flag that sets the bound, so the log
// line says what to raise. Other client errors say enough as they are.
ApiError with_bound(const ApiError& error, const std::string& what, std::string_view bound) {
  if (error.kind != ApiErrorKind::too_large) {
    return error;
  }
  return ApiError{error.kind, what + ": " + error.message + " (" + std::string(bound) + ")"};
}

// How much list text a sink that takes pages sees parsed between two add_page() calls.
constexpr std::uint64_t page_batch_bytes = 1 << 20;

// A list's error, saying which list: a body over its bound also names the flag that sets it, and
// a body that is not a list (found as it is parsed) the list's path.
ApiError list_error(const ApiError& error, const std::string& what) {
  if (error.kind == ApiErrorKind::bad_answer) {
    return bad_answer(what + ": " + error.message);
  }
  return with_bound(error, what, "the bound on one list page, --max-list-bytes");
}

std::string seconds_text(std::chrono::milliseconds d) {
  return std::to_string(d.count() / 1000) + "." + std::to_string((d.count() % 1000) / 100) + "s";
}

}  // namespace

Reflector::Reflector(ApiClient& client, ReflectorOptions options, ReflectorSink& sink, const Clock& clock)
    : client_(client), options_(std::move(options)), sink_(sink), clock_(clock), random_(std::random_device{}()) {
  status_.resource = options_.resource;
}

template <class F>
void Reflector::update(F&& f) {
  std::lock_guard lock(mutex_);
  f(status_);
}

ReflectorStatus Reflector::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

bool Reflector::ready() const {
  std::lock_guard lock(mutex_);
  if (!status_.synced) {
    return false;
  }
  return !status_.failing_since || clock_.now() - *status_.failing_since < options_.unready_after;
}

std::string Reflector::selectors_query() const {
  std::string q;
  if (!options_.field_selector.empty()) {
    q += "&fieldSelector=" + url_encode(options_.field_selector);
  }
  if (!options_.label_selector.empty()) {
    q += "&labelSelector=" + url_encode(options_.label_selector);
  }
  return q;
}

std::chrono::milliseconds Reflector::next_backoff() {
  const auto exp = std::min(consecutive_failures_, 16);
  auto base = options_.initial_backoff * (1LL << std::max(exp - 1, 0));
  base = std::min<std::chrono::milliseconds>(base, options_.max_backoff);
  // Jitter in [0.5, 1.5) so agents that lost the API server together do not return together.
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * jitter(random_)));
}

void Reflector::record_failure(const ApiError& error) {
  ++consecutive_failures_;
  const auto now = clock_.now();
  update([&](ReflectorStatus& s) {
    ++s.errors;
    if (error.kind == ApiErrorKind::too_large) {
      ++s.too_large;
    }
    s.last_error = error.message;
    if (!s.failing_since) {
      s.failing_since = now;
    }
  });
}

void Reflector::record_success() {
  consecutive_failures_ = 0;
  update([](ReflectorStatus& s) { s.failing_since.reset(); });
}

asio::awaitable<void> Reflector::run() {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  // A sink that pages its first list takes a cluster-wide resource, and a cached list is one
  // answer with every object, which at a cluster's scale passes the bound on one answer
  // (--max-list-bytes) however it is read.
  ListKind next_list = sink_.pages_first_list() ? ListKind::consistent : ListKind::cached;
  bool need_list = true;
  for (;;) {
    if (need_list) {
      update([](ReflectorStatus& s) { s.state = "listing"; });
      auto listed = co_await list(next_list);
      if (!listed) {
        record_failure(listed.error());
        if (listed.error().kind == ApiErrorKind::too_large) {
          // A cached list is the whole resource in one answer; a paginated one may fit the bound.
          next_list = ListKind::consistent;
        }
        const auto delay = next_backoff();
        spdlog::warn("{}: list failed: {}; retrying in {}", options_.resource, listed.error().message,
                     seconds_text(delay));
        update([](ReflectorStatus& s) { s.state = "backoff"; });
        timer.expires_after(delay);
        co_await timer.async_wait(asio::use_awaitable);
        continue;
      }
      record_success();
      need_list = false;
    }
    update([](ReflectorStatus& s) {
      s.state = "watching";
      ++s.watches;
    });
    auto watched = co_await watch();
    if (!watched) {
      record_failure(watched.error());
      const bool lost_event = watched.error().kind == ApiErrorKind::too_large;
      if (lost_event) {
        // Watching again from the same resourceVersion would replay the same event; a list brings
        // the object back, paginated, under the larger list bound.
        need_list = true;
        next_list = ListKind::consistent;
      }
      const auto delay = next_backoff();
      spdlog::warn("{}: watch from resourceVersion {} failed: {}; {} in {}", options_.resource, resource_version_,
                   watched.error().message, lost_event ? "relisting" : "retrying", seconds_text(delay));
      update([](ReflectorStatus& s) { s.state = "backoff"; });
      timer.expires_after(delay);
      co_await timer.async_wait(asio::use_awaitable);
      continue;
    }
    record_success();
    if (*watched) {
      spdlog::info("{}: resourceVersion {} is too old (410 Gone); relisting", options_.resource, resource_version_);
      update([](ReflectorStatus& s) { ++s.relists_expired; });
      need_list = true;
      next_list = ListKind::consistent;
    }
  }
}

asio::awaitable<ApiResult<void>> Reflector::list(ListKind kind) {
  std::vector<json::value> items;
  std::string continue_token;
  std::string list_rv;
  int pages = 0;
  const bool paged = sink_.takes_pages();
  std::size_t listed = 0;
  std::string page_errors;
  // A sink that takes pages is handed the items parsed so far whenever another page_batch_bytes of
  // text has been read, not once per page: a page of 500 EndpointSlices of 100 endpoints each is
  // tens of MiB parsed, and only its digests are kept.
  std::uint64_t unbatched = 0;
  const auto hand_on = [&] {
    listed += items.size();
    if (auto added = sink_.add_page(items); !added) {
      page_errors += (page_errors.empty() ? "" : "; ") + added.error().message;
    }
    items.clear();
    unbatched = 0;
  };
  if (paged) {
    sink_.begin_pages();
  }
  for (;;) {
    std::string target = options_.path + "?";
    if (kind == ListKind::cached) {
      target += "resourceVersion=0";
    } else {
      target += options_.page_size > 0 ? "limit=" + std::to_string(options_.page_size) : std::string("limit=0");
      if (!continue_token.empty()) {
        target += "&continue=" + url_encode(continue_token);
      }
    }
    target += selectors_query();
    // Parsed item by item, pruned (kube/pruned_json.hpp). For a sink that takes pages, as the
    // bytes arrive: the page is never held as text, nor parsed all at once; what is held is the
    // item being parsed and at most a batch of items. Any other sink takes a list's items all at
    // once, so it ends up holding them parsed anyway; its page is read whole first (within
    // --max-list-bytes) and parsed once complete, so that an answer that never ends, or one over
    // the bound, costs the bound in text and never the parsed form of it, several times larger.
    ListStreamParser parser([&](json::value item) { items.push_back(std::move(item)); });
    std::optional<ApiResult<ApiResponse>> answer;
    if (paged) {
      ApiClient::BodyPieces feed = [&](std::string_view piece) -> Result<void> {
        auto written = parser.write(piece);
        unbatched += piece.size();
        if (written && unbatched >= page_batch_bytes && !items.empty()) {
          hand_on();
        }
        return written;
      };
      answer.emplace(co_await client_.get_pieces(target, feed, options_.request_timeout, options_.max_list_bytes));
    } else {
      answer.emplace(co_await client_.get(target, options_.request_timeout, options_.max_list_bytes));
    }
    auto& response = *answer;
    if (!response) {
      // A page cut short (over its bound, a transport error, not JSON): the sink keeps what it had.
      co_return list_error(response.error(), "list " + options_.path);
    }
    if (response->status == 410 && !continue_token.empty()) {
      // The snapshot behind the continue token was compacted mid-list: start the list again.
      spdlog::info("{}: continue token expired after {} pages; restarting the list", options_.resource, pages);
      items.clear();
      continue_token.clear();
      pages = 0;
      listed = 0;
      page_errors.clear();
      if (paged) {
        sink_.begin_pages();
      }
      continue;
    }
    if (response->status != 200) {
      co_return bad_answer("list " + options_.path + ": " + status_message(*response));
    }
    if (!paged) {
      const auto written = parser.write(response->body);
      response->body = std::string();  // the page's text, before the next page is read
      if (!written) {
        co_return bad_answer("list " + options_.path + ": " + written.error().message);
      }
    }
    auto head = parser.finish();
    if (!head) {
      co_return bad_answer("list " + options_.path + ": " + head.error().message);
    }
    ++pages;
    list_rv = std::move(head->resource_version);
    continue_token = std::move(head->continue_token);
    if (paged) {
      hand_on();
    }
    if (continue_token.empty()) {
      break;
    }
  }
  if (!paged) {
    listed = items.size();
  }
  auto replaced = paged ? sink_.finish_pages() : sink_.replace(items);
  if (replaced && !page_errors.empty()) {
    replaced = fail(page_errors);
  }
  // The parsed items before the heap is trimmed below: they are what it gives back.
  std::vector<json::value>().swap(items);
  if (!replaced) {
    // Some items were malformed; the sink kept the good ones. Counted, not fatal.
    spdlog::error("{}: {}", options_.resource, replaced.error().message);
    update([](ReflectorStatus& s) { ++s.decode_errors; });
  }
  // The list's text and parsed items are gone: give their pages back to the node rather than keep
  // them in the heap until the next list (a node's 250 real pods, parsed and pruned, are about a
  // megabyte, between the compact pods the store keeps).
  ::malloc_trim(0);
  resource_version_ = list_rv;
  const auto now = clock_.now();
  update([&](ReflectorStatus& s) {
    s.synced = true;
    s.last_sync = now;
    s.last_activity = now;
    s.resource_version = list_rv;
    ++s.lists;
  });
  spdlog::info("{}: listed {} objects at resourceVersion {} ({}{} page{})", options_.resource, listed, list_rv,
               kind == ListKind::cached ? "from the API server cache, " : "consistent, ", pages, pages == 1 ? "" : "s");
  co_return ApiResult<void>{};
}

void Reflector::handle_event(std::string_view line, bool& expired) {
  if (line.empty() || line == "\r") {
    return;
  }
  auto parsed = parse_pruned(line);
  if (!parsed || !parsed->is_object()) {
    spdlog::error("{}: watch event is not JSON: {}", options_.resource, std::string(line.substr(0, 200)));
    update([](ReflectorStatus& s) { ++s.decode_errors; });
    return;
  }
  const auto& object = parsed->as_object();
  const auto* type = object.if_contains("type");
  const auto* payload = object.if_contains("object");
  if (type == nullptr || !type->is_string() || payload == nullptr || !payload->is_object()) {
    spdlog::error("{}: watch event without type or object", options_.resource);
    update([](ReflectorStatus& s) { ++s.decode_errors; });
    return;
  }
  const std::string_view kind = type->get_string();
  const auto now = clock_.now();
  if (kind == "ERROR") {
    const auto* code = payload->as_object().if_contains("code");
    const auto* message = payload->as_object().if_contains("message");
    const std::string text = message != nullptr && message->is_string() ? std::string(message->get_string()) : "";
    if (code != nullptr && code->is_int64() && code->as_int64() == 410) {
      expired = true;
    } else {
      spdlog::warn("{}: watch ERROR event: {}", options_.resource, text);
      update([&](ReflectorStatus& s) { s.last_error = "watch ERROR event: " + text; });
    }
    return;
  }
  const std::string rv = metadata_string(payload->as_object(), "resourceVersion");
  if (kind == "BOOKMARK") {
    if (!rv.empty()) {
      resource_version_ = rv;
    }
    update([&](ReflectorStatus& s) {
      ++s.bookmarks;
      s.last_activity = now;
      s.resource_version = resource_version_;
    });
    return;
  }
  WatchEventType event_type;
  if (kind == "ADDED") {
    event_type = WatchEventType::added;
  } else if (kind == "MODIFIED") {
    event_type = WatchEventType::modified;
  } else if (kind == "DELETED") {
    event_type = WatchEventType::deleted;
  } else {
    spdlog::warn("{}: unknown watch event type {}", options_.resource, std::string(kind));
    return;
  }
  auto applied = sink_.apply(event_type, *payload);
  if (!applied) {
    spdlog::error("{}: {} event rejected: {}", options_.resource, std::string(kind), applied.error().message);
  }
  if (!rv.empty()) {
    resource_version_ = rv;
  }
  update([&](ReflectorStatus& s) {
    ++s.events;
    if (!applied) {
      ++s.decode_errors;
    }
    s.last_activity = now;
    s.resource_version = resource_version_;
  });
}

asio::awaitable<ApiResult<bool>> Reflector::watch() {
  std::uniform_int_distribution<std::int64_t> spread(0, options_.min_watch_timeout.count());
  const auto timeout = options_.min_watch_timeout + std::chrono::seconds(spread(random_));
  const std::string target = options_.path +
                             "?watch=1&allowWatchBookmarks=true&resourceVersion=" + url_encode(resource_version_) +
                             "&timeoutSeconds=" + std::to_string(timeout.count()) + selectors_query();
  bool expired = false;
  const auto from = resource_version_;
  auto response = co_await client_.stream(
      target, [&](std::string_view line) { handle_event(line, expired); },
      [&](unsigned status) {
        // An established watch is a success even if no event ever arrives on it.
        if (status == 200) {
          record_success();
        }
      },
      std::chrono::duration_cast<std::chrono::milliseconds>(timeout) + std::chrono::seconds(30),
      options_.max_event_bytes);
  if (expired) {
    co_return true;
  }
  if (!response) {
    co_return with_bound(response.error(), "watch " + options_.path,
                         "the bound on one watch event, --max-watch-event-bytes");
  }
  if (response->status == 410) {
    co_return true;
  }
  if (response->status != 200) {
    co_return bad_answer("watch " + options_.path + ": " + status_message(*response));
  }
  spdlog::debug("{}: watch from resourceVersion {} ended; resuming from {}", options_.resource, from,
                resource_version_);
  co_return false;
}

}  // namespace nodepack::kube
