#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::numa {

// Why a CPU list was refused. The checkpoint readers report both as invalid_cpuset; the kind
// tells a person whether the text is malformed or names CPUs the machine cannot have.
enum class CpuSetError {
  syntax,        // not the Linux list format
  out_of_range,  // a CPU id at or above the limit (the machine's CPU count, or the hard cap)
};

struct CpuSetFailure {
  CpuSetError reason;
  std::string message;  // what a person reads; quotes at most the first bytes of the text
};
std::ostream& operator<<(std::ostream& os, const CpuSetFailure& f);
[[noreturn]] void throw_exception_from_error(const CpuSetFailure& f, const boost::source_location&);

class CpuSet;
using CpuSetResult = boost::system::result<CpuSet, CpuSetFailure>;

// A set of logical CPU ids, kept as sorted, disjoint, non-adjacent ranges, so that its memory
// follows the number of ranges and never the ids they span. Text form is the Linux list format
// the kubelet writes ("0-3,8"); parsing follows k8s.io/utils/cpuset.Parse so whatever the
// kubelet accepts we accept, and nothing more, except ids a machine cannot have.
class CpuSet {
 public:
  // Ids at or above this are refused wherever the machine's CPU count is not known: Linux's
  // largest NR_CPUS is 8192, so a kubelet file can never name such a CPU, and a hostile
  // "0-2000000000" costs nothing.
  static constexpr int hard_cpu_limit = 16384;

  struct Range {
    int first;
    int last;  // inclusive
    friend bool operator==(const Range&, const Range&) = default;
  };

  CpuSet() = default;
  CpuSet(std::initializer_list<int> ids);
  explicit CpuSet(const std::vector<int>& ids);
  // Any ranges, overlapping or unsorted; each must have first <= last.
  static CpuSet from_ranges(std::vector<Range> ranges);

  // Accepts ids in [0, cpu_limit). Time and memory follow the length of `list`: ranges are
  // kept, not expanded, and merged after one sort.
  static CpuSetResult parse(std::string_view list, int cpu_limit = hard_cpu_limit);

  std::string to_string() const;
  // Every id, expanded: only for sets bounded by the machine (a topology's, a parsed one).
  std::vector<int> ids() const;
  const std::vector<Range>& ranges() const { return ranges_; }
  std::size_t size() const { return size_; }
  bool empty() const { return ranges_.empty(); }
  bool contains(int id) const;
  // The largest id; -1 when empty.
  int max_id() const { return ranges_.empty() ? -1 : ranges_.back().last; }

  CpuSet united(const CpuSet& other) const;
  CpuSet intersected(const CpuSet& other) const;
  CpuSet without(const CpuSet& other) const;
  bool is_subset_of(const CpuSet& other) const;

  friend bool operator==(const CpuSet&, const CpuSet&) = default;
  friend std::ostream& operator<<(std::ostream& os, const CpuSet& s);

 private:
  // Takes ranges already sorted, disjoint and non-adjacent.
  explicit CpuSet(std::vector<Range> canonical);

  std::vector<Range> ranges_;
  std::size_t size_ = 0;  // ids in ranges_, kept so size() needs no walk
};

}  // namespace nodepack::numa
