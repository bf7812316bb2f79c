#include "sim/access.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>

namespace nodepack::sim {

namespace json = boost::json;

namespace {

bool matches(const std::vector<std::string>& patterns, std::string_view value) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
    if (p == "*" || p == value) {
      return true;
    }
    return p.size() > 1 && p.back() == '*' && value.starts_with(std::string_view(p).substr(0, p.size() - 1));
  });
}

std::string string_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::vector<std::string> strings_at(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* v = o.if_contains(key); v != nullptr && v->is_array()) {
    for (const auto& e : v->get_array()) {
      if (e.is_string()) {
        out.emplace_back(e.get_string());
      }
    }
  }
  return out;
}

const json::object* object_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

json::object review_reply(const json::object& review, std::string_view kind, std::string_view api_version,
                          json::object status) {
  json::object out{{"kind", kind}, {"apiVersion", api_version}, {"metadata", json::object{}}, {"status", status}};
  if (const auto* spec = review.if_contains("spec")) {
    out["spec"] = *spec;
  }
  return out;
}

}  // namespace

AccessPolicy::AccessPolicy(std::string admin_token, std::vector<Identity> identities, std::vector<AccessRule> rules)
    : identities_(std::move(identities)), rules_(std::move(rules)), enforced_(!admin_token.empty()) {
  if (!admin_token.empty()) {
    identities_.push_back(Identity{std::move(admin_token), "admin", {"system:masters", "system:authenticated"}});
  }
}

Result<AccessPolicy> AccessPolicy::parse(std::string_view text, std::string admin_token) {
  boost::system::error_code ec;
  const auto doc = json::parse(text, ec);
  if (ec || !doc.is_object()) {
    return fail("access policy: not a JSON object");
  }
  std::vector<Identity> identities;
  std::vector<AccessRule> rules;
  if (const auto* list = doc.get_object().if_contains("identities"); list != nullptr && list->is_array()) {
    for (const auto& e : list->get_array()) {
      if (!e.is_object()) {
        return fail("access policy: an identity is not an object");
      }
      Identity id{string_at(e.get_object(), "token"), string_at(e.get_object(), "user"),
                  strings_at(e.get_object(), "groups")};
      if (id.token.empty() || id.user.empty()) {
        return fail("access policy: an identity needs a token and a user");
      }
      id.groups.push_back("system:authenticated");
      identities.push_back(std::move(id));
    }
  }
  if (const auto* list = doc.get_object().if_contains("rules"); list != nullptr && list->is_array()) {
    for (const auto& e : list->get_array()) {
      if (!e.is_object()) {
        return fail("access policy: a rule is not an object");
      }
      const auto& o = e.get_object();
      AccessRule rule{string_at(o, "user"), string_at(o, "group"), strings_at(o, "verbs"),
                      strings_at(o, "nonResourceURLs"), strings_at(o, "resources")};
      if (rule.user.empty() == rule.group.empty()) {
        return fail("access policy: a rule names exactly one of user and group");
      }
      rules.push_back(std::move(rule));
    }
  }
  return AccessPolicy(std::move(admin_token), std::move(identities), std::move(rules));
}

const Identity* AccessPolicy::authenticate(std::string_view token) const {
  for (const auto& id : identities_) {
    if (!token.empty() && id.token == token) {
      return &id;
    }
  }
  return nullptr;
}

bool AccessPolicy::allowed(std::string_view user, const std::vector<std::string>& groups, std::string_view verb,
                           std::optional<std::string> path, std::optional<std::string> resource) const {
  if (std::find(groups.begin(), groups.end(), "system:masters") != groups.end()) {
    return true;
  }
  return std::any_of(rules_.begin(), rules_.end(), [&](const AccessRule& r) {
    const bool subject =
        r.user.empty() ? std::find(groups.begin(), groups.end(), r.group) != groups.end() : r.user == user;
    if (!subject || !matches(r.verbs, verb)) {
      return false;
    }
    return path ? matches(r.non_resource_urls, *path) : (resource && matches(r.resources, *resource));
  });
}

json::object AccessPolicy::token_review(const json::object& review) const {
  const auto* spec = object_at(review, "spec");
  const Identity* id = spec != nullptr ? authenticate(string_at(*spec, "token")) : nullptr;
  json::object status;
  if (id == nullptr) {
    status = json::object{{"authenticated", false}, {"error", "invalid bearer token"}};
  } else {
    json::array groups;
    for (const auto& g : id->groups) {
      groups.emplace_back(g);
    }
    status = json::object{
        {"authenticated", true},
        {"user", json::object{{"username", id->user}, {"uid", "uid-" + id->user}, {"groups", std::move(groups)}}}};
  }
  return review_reply(review, "TokenReview", "authentication.k8s.io/v1", std::move(status));
}

json::object AccessPolicy::subject_access_review(const json::object& review) const {
  const auto* spec = object_at(review, "spec");
  bool allow = false;
  std::string why = "no spec";
  if (spec != nullptr) {
    const std::string user = string_at(*spec, "user");
    const auto groups = strings_at(*spec, "groups");
    if (const auto* nra = object_at(*spec, "nonResourceAttributes")) {
      const std::string path = string_at(*nra, "path");
      allow = allowed(user, groups, string_at(*nra, "verb"), path, std::nullopt);
      why = (allow ? "allowed: " : "no rule allows ") + string_at(*nra, "verb") + " " + path;
    } else if (const auto* ra = object_at(*spec, "resourceAttributes")) {
      std::string resource = string_at(*ra, "resource");
      if (const auto sub = string_at(*ra, "subresource"); !sub.empty()) {
        resource += "/" + sub;
      }
      allow = allowed(user, groups, string_at(*ra, "verb"), std::nullopt, resource);
      why = (allow ? "allowed: " : "no rule allows ") + string_at(*ra, "verb") + " " + resource;
    }
  }
  json::object status{{"allowed", allow}, {"reason", why}};
  return review_reply(review, "SubjectAccessReview", "authorization.k8s.io/v1", std::move(status));
}

}  // namespace nodepack::sim
