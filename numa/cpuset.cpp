#include "numa/cpuset.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <ostream>

namespace nodepack::numa {

namespace {

// strconv.Atoi semantics: optional sign, decimal digits, nothing else.
bool parse_int(std::string_view s, long long& out) {
  if (s.empty()) {
    return false;
  }
  if (s.front() == '+') {
    s.remove_prefix(1);
    if (s.empty() || s.front() == '-' || s.front() == '+') {
      return false;
    }
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

CpuSet::CpuSet(std::initializer_list<int> ids) : CpuSet(std::vector<int>(ids)) {}

CpuSet::CpuSet(std::vector<int> ids) : ids_(std::move(ids)) {
  std::sort(ids_.begin(), ids_.end());
  ids_.erase(std::unique(ids_.begin(), ids_.end()), ids_.end());
}

Result<CpuSet> CpuSet::parse(std::string_view list) {
  std::vector<int> ids;
  if (list.empty()) {
    return CpuSet();
  }
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = list.find(',', start);
    const std::string_view part =
        list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    const std::size_t dash = part.find('-');
    long long lo = 0;
    long long hi = 0;
    if (dash == std::string_view::npos) {
      if (!parse_int(part, lo)) {
        return fail("invalid cpu id \"" + std::string(part) + "\" in cpuset \"" + std::string(list) + "\"");
      }
      hi = lo;
    } else {
      const std::string_view a = part.substr(0, dash);
      const std::string_view b = part.substr(dash + 1);
      if (!parse_int(a, lo) || !parse_int(b, hi)) {
        return fail("invalid cpu range \"" + std::string(part) + "\" in cpuset \"" + std::string(list) + "\"");
      }
      if (lo > hi) {
        return fail("invalid cpu range \"" + std::string(part) + "\": start after end");
      }
    }
    if (lo < 0 || hi > max_cpu_id) {
      return fail("cpu id out of range in \"" + std::string(part) + "\"");
    }
    for (long long id = lo; id <= hi; ++id) {
      ids.push_back(static_cast<int>(id));
    }
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return CpuSet(std::move(ids));
}

std::string CpuSet::to_string() const {
  std::string out;
  for (std::size_t i = 0; i < ids_.size();) {
    std::size_t j = i;
    while (j + 1 < ids_.size() && ids_[j + 1] == ids_[j] + 1) {
      ++j;
    }
    if (!out.empty()) {
      out += ',';
    }
    out += std::to_string(ids_[i]);
    if (j > i) {
      out += '-';
      out += std::to_string(ids_[j]);
    }
    i = j + 1;
  }
  return out;
}

bool CpuSet::contains(int id) const { return std::binary_search(ids_.begin(), ids_.end(), id); }

CpuSet CpuSet::united(const CpuSet& other) const {
  std::vector<int> out;
  std::set_union(ids_.begin(), ids_.end(), other.ids_.begin(), other.ids_.end(), std::back_inserter(out));
  return CpuSet(std::move(out));
}

CpuSet CpuSet::intersected(const CpuSet& other) const {
  std::vector<int> out;
  std::set_intersection(ids_.begin(), ids_.end(), other.ids_.begin(), other.ids_.end(), std::back_inserter(out));
  return CpuSet(std::move(out));
}

CpuSet CpuSet::without(const CpuSet& other) const {
  std::vector<int> out;
  std::set_difference(ids_.begin(), ids_.end(), other.ids_.begin(), other.ids_.end(), std::back_inserter(out));
  return CpuSet(std::move(out));
}

bool CpuSet::is_subset_of(const CpuSet& other) const {
  return std::includes(other.ids_.begin(), other.ids_.end(), ids_.begin(), ids_.end());
}

std::ostream& operator<<(std::ostream& os, const CpuSet& s) { return os << '"' << s.to_string() << '"'; }

}  // namespace nodepack::numa
