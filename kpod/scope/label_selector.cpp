#include "kpod/scope/label_selector.hpp"

#include "common/flags.hpp"
#include "common/strings.hpp"

#include <algorithm>
#include <cctype>

namespace nodepack::kpod {
namespace {

// Splits at commas outside parentheses: "a in (x,y),b" is two requirements.
std::vector<std::string_view> split_requirements(std::string_view text) {
  std::vector<std::string_view> out;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      out.push_back(trim(text.substr(start, i - start)));
      start = i + 1;
    } else if (text[i] == '(') {
      ++depth;
    } else if (text[i] == ')') {
      --depth;
    }
  }
  return out;
}

// Label keys: an optional DNS prefix and '/', then a name of [A-Za-z0-9._-]; checked loosely (the
// API server validated the pods' labels already), enough to catch a typo such as "app=x=y".
bool valid_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_' || c == '/';
  });
}

bool valid_value(std::string_view v) {
  return std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
  });
}

Result<std::vector<std::string>> parse_set(std::string_view text, std::string_view whole) {
  text = trim(text);
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') {
    return fail("label selector \"" + std::string(whole) + "\": want a set in parentheses, e.g. (a,b)");
  }
  std::vector<std::string> values;
  for (const auto& v : split_list(text.substr(1, text.size() - 2))) {
    auto t = std::string(trim(v));
    if (!valid_value(t)) {
      return fail("label selector \"" + std::string(whole) + "\": bad value \"" + t + "\"");
    }
    values.push_back(std::move(t));
  }
  if (values.empty()) {
    return fail("label selector \"" + std::string(whole) + "\": empty set");
  }
  return values;
}

}  // namespace

Result<LabelSelector> LabelSelector::parse(std::string_view text) {
  LabelSelector out;
  if (trim(text).empty()) {
    return out;
  }
  for (auto req : split_requirements(text)) {
    const std::string whole(req);
    auto bad = [&](const std::string& why) { return fail("label selector \"" + whole + "\": " + why); };
    if (req.empty()) {
      return bad("empty requirement");
    }
    Requirement r;
    if (req.front() == '!') {
      r.key = std::string(trim(req.substr(1)));
      r.op = Op::not_exists;
    } else if (auto ne = req.find("!="); ne != std::string_view::npos) {
      r.key = std::string(trim(req.substr(0, ne)));
      r.op = Op::not_in;
      r.values = {std::string(trim(req.substr(ne + 2)))};
    } else if (auto eq = req.find('='); eq != std::string_view::npos) {
      r.key = std::string(trim(req.substr(0, eq)));
      auto rest = req.substr(eq + 1);
      if (!rest.empty() && rest.front() == '=') {
        rest.remove_prefix(1);
      }
      r.op = Op::in;
      r.values = {std::string(trim(rest))};
    } else if (auto sp = req.find(' '); sp != std::string_view::npos) {
      r.key = std::string(trim(req.substr(0, sp)));
      auto rest = trim(req.substr(sp));
      if (rest.starts_with("notin")) {
        r.op = Op::not_in;
        rest.remove_prefix(5);
      } else if (rest.starts_with("in")) {
        r.op = Op::in;
        rest.remove_prefix(2);
      } else {
        return bad("want =, !=, in or notin after the key");
      }
      auto set = parse_set(rest, whole);
      if (!set) {
        return set.error();
      }
      r.values = std::move(*set);
    } else {
      r.key = std::string(req);
      r.op = Op::exists;
    }
    if (!valid_key(r.key)) {
      return bad("bad key \"" + r.key + "\"");
    }
    for (const auto& v : r.values) {
      if (!valid_value(v)) {
        return bad("bad value \"" + v + "\"");
      }
    }
    out.requirements_.push_back(std::move(r));
  }
  return out;
}

bool LabelSelector::matches(const cgroup::LabelMap& labels) const {
  return std::all_of(requirements_.begin(), requirements_.end(), [&](const Requirement& r) {
    auto it = labels.find(r.key);
    const bool has = it != labels.end();
    const bool in_set = has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    switch (r.op) {
      case Op::in:
        return in_set;
      case Op::not_in:
        return !in_set;
      case Op::exists:
        return has;
      case Op::not_exists:
        return !has;
    }
    return false;
  });
}

}  // namespace nodepack::kpod
