#pragma once

// The two questions a workload asks the API server about its own callers, as kube-rbac-proxy
// does: who owns this bearer token (TokenReview, authentication.k8s.io/v1), and may that user do
// this verb on this path (SubjectAccessReview, authorization.k8s.io/v1, non-resource attributes).
// The caller's service account needs `create` on both (ClusterRole system:auth-delegator).

#include "common/result.hpp"
#include "kube/api_client.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

namespace nodepack::kube {

struct ReviewedUser {
  std::string name;
  std::vector<std::string> groups;
};

class AccessReviewer {
 public:
  virtual ~AccessReviewer() = default;
  // nullopt: the token does not authenticate anyone. An error: the question could not be asked.
  virtual boost::asio::awaitable<Result<std::optional<ReviewedUser>>> review_token(std::string token) = 0;
  virtual boost::asio::awaitable<Result<bool>> review_access(const ReviewedUser& user, std::string path,
                                                             std::string verb) = 0;
};

// Asks the API server through the agent's own client.
class ApiAccessReviewer final : public AccessReviewer {
 public:
  explicit ApiAccessReviewer(ApiClient& client, std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : client_(client), timeout_(timeout) {}
  boost::asio::awaitable<Result<std::optional<ReviewedUser>>> review_token(std::string token) override;
  boost::asio::awaitable<Result<bool>> review_access(const ReviewedUser& user, std::string path,
                                                     std::string verb) override;

 private:
  ApiClient& client_;
  std::chrono::milliseconds timeout_;
};

}  // namespace nodepack::kube
