#include "sim/field_selector.hpp"

#include <algorithm>

namespace nodepack::sim {

namespace {

// Splits on `sep` not preceded by a backslash.
std::vector<std::string_view> split_unescaped(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

Result<FieldSelector> FieldSelector::parse(std::string_view text, const std::vector<std::string_view>& supported) {
  FieldSelector selector;
  if (text.empty()) {
    return selector;
  }
  for (const auto term : split_unescaped(text, ',')) {
    const auto quoted = "invalid field selector \"" + std::string(text) + "\": ";
    // The first unescaped operator splits the term; "!=" and "==" before "=".
    std::size_t op_pos = std::string_view::npos;
    std::size_t op_len = 0;
    bool equals = true;
    for (std::size_t i = 0; i < term.size(); ++i) {
      if (term[i] == '\\') {
        ++i;
        continue;
      }
      if (term[i] == '!' && i + 1 < term.size() && term[i + 1] == '=') {
        op_pos = i;
        op_len = 2;
        equals = false;
      } else if (term[i] == '=') {
        op_pos = i;
        op_len = i + 1 < term.size() && term[i + 1] == '=' ? 2 : 1;
      }
      if (op_pos != std::string_view::npos) {
        break;
      }
    }
    if (op_pos == std::string_view::npos) {
      return fail(quoted + "can't understand \"" + std::string(term) + "\"");
    }
    FieldRequirement r;
    r.field = std::string(term.substr(0, op_pos));
    r.equals = equals;
    r.value = unescape(term.substr(op_pos + op_len));
    if (r.field.empty()) {
      return fail(quoted + "missing field name in \"" + std::string(term) + "\"");
    }
    if (std::find(supported.begin(), supported.end(), r.field) == supported.end()) {
      return fail("field label not supported: " + r.field);
    }
    selector.requirements_.push_back(std::move(r));
  }
  return selector;
}

bool FieldSelector::matches(const boost::json::object& object) const {
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&](const FieldRequirement& r) { return (field_value(object, r.field) == r.value) == r.equals; });
}

std::string_view field_value(const boost::json::object& object, std::string_view path) {
  const boost::json::object* current = &object;
  for (;;) {
    const auto dot = path.find('.');
    const auto* next = current->if_contains(path.substr(0, dot));
    if (next == nullptr) {
      return {};
    }
    if (dot == std::string_view::npos) {
      return next->is_string() ? std::string_view(next->get_string()) : std::string_view();
    }
    if (!next->is_object()) {
      return {};
    }
    current = &next->get_object();
    path.remove_prefix(dot + 1);
  }
}

}  // namespace nodepack::sim
