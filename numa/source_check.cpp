#include "numa/source_check.hpp"

#include "numa/collector.hpp"

#include <set>

namespace nodepack::numa {

namespace {

std::string group_name(const std::vector<int>& group) {
  std::string out;
  for (int id : group) {
    out += (out.empty() ? "" : "+") + (id < 0 ? std::string("none") : numanode_label(static_cast<unsigned>(id)));
  }
  return out.empty() ? "none" : out;
}

// Compares two maps cell by cell (a missing cell is 0 or empty) and records each difference.
template <class Key, class Value, class Name, class Show>
void compare(SourceCheck& check, const std::string& resource, const std::map<Key, Value>& a,
             const std::map<Key, Value>& b, Name name, Show show) {
  std::set<Key> keys;
  for (const auto& [k, v] : a) {
    keys.insert(k);
  }
  for (const auto& [k, v] : b) {
    keys.insert(k);
  }
  std::size_t& differing = check.differing[resource];
  for (const auto& k : keys) {
    auto x = a.find(k);
    auto y = b.find(k);
    const Value vx = x == a.end() ? Value{} : x->second;
    const Value vy = y == b.end() ? Value{} : y->second;
    if (vx != vy) {
      ++differing;
      check.mismatches.push_back({resource, name(k), show(vx), show(vy)});
    }
  }
}

template <class Inner>
std::set<std::string> keys_of(const std::map<std::string, Inner>& a, const std::map<std::string, Inner>& b) {
  std::set<std::string> out;
  for (const auto& [k, v] : a) {
    out.insert(k);
  }
  for (const auto& [k, v] : b) {
    out.insert(k);
  }
  return out;
}

}  // namespace

SourceCheck compare_tallies(const NumaTally& p, const NumaTally& c, CompareScope scope) {
  SourceCheck check;
  check.compared = scope.cpu || scope.memory || scope.devices;
  if (!check.compared) {
    check.not_compared_because = "no checkpoint file is in use";
    return check;
  }
  auto count = [](std::uint64_t v) { return std::to_string(v); };
  if (scope.cpu) {
    compare(
        check, "cpu", p.exclusive_cpus, c.exclusive_cpus, [](unsigned id) { return numanode_label(id); },
        [](const CpuSet& s) { return s.empty() ? std::string("none") : s.to_string(); });
  }
  if (scope.memory) {
    for (const auto& type : keys_of(p.memory, c.memory)) {
      static const std::map<std::vector<int>, std::uint64_t> none;
      auto x = p.memory.find(type);
      auto y = c.memory.find(type);
      compare(check, type, x == p.memory.end() ? none : x->second, y == c.memory.end() ? none : y->second, group_name,
              count);
    }
  }
  if (scope.devices) {
    for (const auto& resource : keys_of(p.devices, c.devices)) {
      static const std::map<std::int64_t, std::uint64_t> none;
      auto x = p.devices.find(resource);
      auto y = c.devices.find(resource);
      compare(
          check, resource, x == p.devices.end() ? none : x->second, y == c.devices.end() ? none : y->second,
          [](std::int64_t id) { return group_name({static_cast<int>(id)}); }, count);
    }
  }
  return check;
}

}  // namespace nodepack::numa
