#include "kube/access_review.hpp"

#include <boost/json.hpp>

namespace nodepack::kube {
namespace {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

// The review's status object from a created review, or why there is none.
Result<json::object> review_status(const ApiResult<ApiResponse>& response, std::string_view what) {
  if (!response) {
    return fail(std::string(what) + ": " + response.error().message);
  }
  if (response->status != 200 && response->status != 201) {
    return fail(std::string(what) + ": the API server answered " + std::to_string(response->status));
  }
  boost::system::error_code ec;
  auto doc = json::parse(response->body, ec);
  if (ec || !doc.is_object()) {
    return fail(std::string(what) + ": the answer is not JSON");
  }
  const auto* status = doc.as_object().if_contains("status");
  if (status == nullptr || !status->is_object()) {
    return fail(std::string(what) + ": the answer has no status");
  }
  return status->as_object();
}

}  // namespace

boost::asio::awaitable<Result<std::optional<ReviewedUser>>> ApiAccessReviewer::review_token(std::string token) {
  json::object review{{"apiVersion", "authentication.k8s.io/v1"},
                      {"kind", "TokenReview"},
                      {"spec", json::object{{"token", std::move(token)}}}};
  auto response = co_await client_.send(bhttp::verb::post, "/apis/authentication.k8s.io/v1/tokenreviews",
                                        json::serialize(review), timeout_);
  auto status = review_status(response, "TokenReview");
  if (!status) {
    co_return status.error();
  }
  const auto* authenticated = status->if_contains("authenticated");
  if (authenticated == nullptr || !authenticated->is_bool() || !authenticated->as_bool()) {
    co_return std::optional<ReviewedUser>{};
  }
  ReviewedUser user;
  if (const auto* u = status->if_contains("user"); u != nullptr && u->is_object()) {
    if (const auto* name = u->as_object().if_contains("username"); name != nullptr && name->is_string()) {
      user.name = std::string(name->as_string());
    }
    if (const auto* groups = u->as_object().if_contains("groups"); groups != nullptr && groups->is_array()) {
      for (const auto& g : groups->as_array()) {
        if (g.is_string()) {
          user.groups.emplace_back(g.as_string());
        }
      }
    }
  }
  if (user.name.empty()) {
    co_return std::optional<ReviewedUser>{};  // authenticated as nobody: not a user to authorize
  }
  co_return std::optional<ReviewedUser>(std::move(user));
}

boost::asio::awaitable<Result<bool>> ApiAccessReviewer::review_access(const ReviewedUser& user, std::string path,
                                                                      std::string verb) {
  json::array groups;
  for (const auto& g : user.groups) {
    groups.emplace_back(g);
  }
  json::object review{{"apiVersion", "authorization.k8s.io/v1"},
                      {"kind", "SubjectAccessReview"},
                      {"spec", json::object{{"user", user.name},
                                            {"groups", std::move(groups)},
                                            {"nonResourceAttributes",
                                             json::object{{"path", std::move(path)}, {"verb", std::move(verb)}}}}}};
  auto response = co_await client_.send(bhttp::verb::post, "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                                        json::serialize(review), timeout_);
  auto status = review_status(response, "SubjectAccessReview");
  if (!status) {
    co_return status.error();
  }
  const auto* allowed = status->if_contains("allowed");
  co_return allowed != nullptr && allowed->is_bool() && allowed->as_bool();
}

}  // namespace nodepack::kube
