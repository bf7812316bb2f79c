#pragma once

// Who may call the simulated API server, and what its reviews answer: TokenReview
// (authentication.k8s.io/v1) and SubjectAccessReview (authorization.k8s.io/v1), as a cluster
// with RBAC would for the identities and rules given. Enough for a node agent that authenticates
// and authorizes its own clients the way kube-rbac-proxy does.

#include "common/result.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::sim {

struct Identity {
  std::string token;
  std::string user;
  std::vector<std::string> groups;
};

// One permission, as a ClusterRole rule bound to a user or a group. "*" matches any verb,
// resource or path; a path ending in "*" matches by prefix, as RBAC's nonResourceURLs do.
struct AccessRule {
  std::string user;  // one of user and group is set
  std::string group;
  std::vector<std::string> verbs;
  std::vector<std::string> non_resource_urls;  // "/metrics"
  std::vector<std::string> resources;          // "pods", "nodes/metrics" (resource/subresource)
};

class AccessPolicy {
 public:
  AccessPolicy() = default;
  // `admin_token`, when set, is an identity in group system:masters (allowed everything).
  AccessPolicy(std::string admin_token, std::vector<Identity> identities, std::vector<AccessRule> rules);
  // {"identities":[{"token","user","groups"}],"rules":[{"user"|"group","verbs","nonResourceURLs","resources"}]}
  static Result<AccessPolicy> parse(std::string_view json, std::string admin_token);

  const std::vector<Identity>& identities() const { return identities_; }
  const std::vector<AccessRule>& rules() const { return rules_; }
  // Whether API calls need a known token: only when there is an admin token, so a server without
  // --token stays open to kubectl over plain HTTP (which sends no token) while its reviews still
  // authenticate the identities given.
  bool enforced() const { return enforced_; }
  const Identity* authenticate(std::string_view token) const;

  // The review with its status filled in.
  boost::json::object token_review(const boost::json::object& review) const;
  boost::json::object subject_access_review(const boost::json::object& review) const;

 private:
  bool allowed(std::string_view user, const std::vector<std::string>& groups, std::string_view verb,
               std::optional<std::string> path, std::optional<std::string> resource) const;

  std::vector<Identity> identities_;
  std::vector<AccessRule> rules_;
  bool enforced_ = false;
};

}  // namespace nodepack::sim
