#include "numa/cpuset.hpp"

#include "common/result.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
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

// A message must not grow with the input: a megabyte of CPU list is quoted by its start.
std::string quoted(std::string_view text) {
  constexpr std::size_t max_quoted = 64;
  if (text.size() <= max_quoted) {
    return "\"" + std::string(text) + "\"";
  }
  return "\"" + std::string(text.substr(0, max_quoted)) + "...\" (" + std::to_string(text.size()) + " bytes)";
}

CpuSetFailure failure(CpuSetError reason, std::string message) { return CpuSetFailure{reason, std::move(message)}; }

// Sorts and merges overlapping or adjacent ranges in place: O(n log n) in the number of ranges,
// no memory beyond them.
std::vector<CpuSet::Range> canonical(std::vector<CpuSet::Range> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const CpuSet::Range& a, const CpuSet::Range& b) { return a.first < b.first; });
  std::size_t kept = 0;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const auto r = ranges[i];
    // 64-bit so that a range ending at INT_MAX does not overflow the adjacency test.
    if (kept > 0 && static_cast<std::int64_t>(r.first) <= static_cast<std::int64_t>(ranges[kept - 1].last) + 1) {
      ranges[kept - 1].last = std::max(ranges[kept - 1].last, r.last);
    } else {
      ranges[kept++] = r;
    }
  }
  ranges.resize(kept);
  ranges.shrink_to_fit();  // "0-3,0-3,..." is one range however long the text was
  return ranges;
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const CpuSetFailure& f) { return os << f.message; }

void throw_exception_from_error(const CpuSetFailure& f, const boost::source_location&) {
  throw ErrorException(f.message);
}

CpuSet::CpuSet(std::vector<Range> canonical_ranges) : ranges_(std::move(canonical_ranges)) {
  for (const auto& r : ranges_) {
    size_ += static_cast<std::size_t>(static_cast<std::int64_t>(r.last) - r.first + 1);
  }
}

CpuSet::CpuSet(std::initializer_list<int> ids) : CpuSet(std::vector<int>(ids)) {}

CpuSet::CpuSet(const std::vector<int>& ids) {
  std::vector<Range> ranges;
  ranges.reserve(ids.size());
  for (int id : ids) {
    ranges.push_back({id, id});
  }
  *this = from_ranges(std::move(ranges));
}

CpuSet CpuSet::from_ranges(std::vector<Range> ranges) { return CpuSet(canonical(std::move(ranges))); }

CpuSetResult CpuSet::parse(std::string_view list, int cpu_limit) {
  // A machine's count can only lower the bound: no caller may lift it past what Linux allows.
  cpu_limit = std::min(cpu_limit, hard_cpu_limit);
  if (list.empty()) {
    return CpuSet();
  }
  std::vector<Range> ranges;
  ranges.reserve(static_cast<std::size_t>(std::count(list.begin(), list.end(), ',')) + 1);
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
        return failure(CpuSetError::syntax, "invalid cpu id " + quoted(part) + " in cpuset " + quoted(list));
      }
      hi = lo;
    } else {
      const std::string_view a = part.substr(0, dash);
      const std::string_view b = part.substr(dash + 1);
      if (!parse_int(a, lo) || !parse_int(b, hi)) {
        return failure(CpuSetError::syntax, "invalid cpu range " + quoted(part) + " in cpuset " + quoted(list));
      }
      if (lo > hi) {
        return failure(CpuSetError::syntax, "invalid cpu range " + quoted(part) + ": start after end");
      }
    }
    if (lo < 0 || hi >= cpu_limit) {
      return failure(
          CpuSetError::out_of_range,
          "cpu id " + std::to_string(lo < 0 ? lo : hi) + " in " + quoted(part) + " is out of range: " +
              (cpu_limit == hard_cpu_limit ? "no machine has more than " + std::to_string(hard_cpu_limit) + " CPUs"
                                           : "this machine has no CPU above " + std::to_string(cpu_limit - 1)));
    }
    // Kept as a range: "0-16383" costs one entry, not 16384.
    ranges.push_back({static_cast<int>(lo), static_cast<int>(hi)});
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return from_ranges(std::move(ranges));
}

std::string CpuSet::to_string() const {
  std::string out;
  for (const auto& r : ranges_) {
    if (!out.empty()) {
      out += ',';
    }
    out += std::to_string(r.first);
    if (r.last > r.first) {
      out += '-';
      out += std::to_string(r.last);
    }
  }
  return out;
}

std::vector<int> CpuSet::ids() const {
  std::vector<int> out;
  out.reserve(size_);
  for (const auto& r : ranges_) {
    for (std::int64_t id = r.first; id <= r.last; ++id) {
      out.push_back(static_cast<int>(id));
    }
  }
  return out;
}

bool CpuSet::contains(int id) const {
  // The first range starting after id; the one before it is the only candidate.
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), id, [](int v, const Range& r) { return v < r.first; });
  return it != ranges_.begin() && std::prev(it)->last >= id;
}

CpuSet CpuSet::united(const CpuSet& other) const {
  std::vector<Range> all;
  all.reserve(ranges_.size() + other.ranges_.size());
  std::merge(ranges_.begin(), ranges_.end(), other.ranges_.begin(), other.ranges_.end(), std::back_inserter(all),
             [](const Range& a, const Range& b) { return a.first < b.first; });
  return from_ranges(std::move(all));
}

CpuSet CpuSet::intersected(const CpuSet& other) const {
  std::vector<Range> out;
  auto a = ranges_.begin();
  auto b = other.ranges_.begin();
  while (a != ranges_.end() && b != other.ranges_.end()) {
    const int first = std::max(a->first, b->first);
    const int last = std::min(a->last, b->last);
    if (first <= last) {
      out.push_back({first, last});
    }
    // The range that ends first cannot meet anything further on the other side.
    if (a->last < b->last) {
      ++a;
    } else {
      ++b;
    }
  }
  return CpuSet(std::move(out));
}

CpuSet CpuSet::without(const CpuSet& other) const {
  std::vector<Range> out;
  auto b = other.ranges_.begin();
  for (const auto& r : ranges_) {
    std::int64_t first = r.first;
    // Ranges of `other` wholly before this one cannot cut it or any later one.
    while (b != other.ranges_.end() && b->last < first) {
      ++b;
    }
    for (auto cut = b; cut != other.ranges_.end() && cut->first <= r.last; ++cut) {
      if (cut->first > first) {
        out.push_back({static_cast<int>(first), cut->first - 1});
      }
      first = std::max<std::int64_t>(first, static_cast<std::int64_t>(cut->last) + 1);
    }
    if (first <= r.last) {
      out.push_back({static_cast<int>(first), r.last});
    }
  }
  return CpuSet(std::move(out));
}

bool CpuSet::is_subset_of(const CpuSet& other) const { return without(other).empty(); }

std::ostream& operator<<(std::ostream& os, const CpuSet& s) { return os << '"' << s.to_string() << '"'; }

}  // namespace nodepack::numa
