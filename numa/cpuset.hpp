#pragma once

#include "common/result.hpp"

#include <cstddef>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::numa {

// A set of logical CPU ids, kept sorted and unique. Text form is the Linux list format the
// kubelet writes ("0-3,8"); parsing follows k8s.io/utils/cpuset.Parse so whatever the kubelet
// accepts we accept, and nothing more.
class CpuSet {
 public:
  // Larger ids are refused rather than expanded: a hostile "0-2000000000" must not allocate.
  static constexpr int max_cpu_id = 65535;

  CpuSet() = default;
  CpuSet(std::initializer_list<int> ids);
  explicit CpuSet(std::vector<int> ids);

  static Result<CpuSet> parse(std::string_view list);

  std::string to_string() const;
  const std::vector<int>& ids() const { return ids_; }
  std::size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }
  bool contains(int id) const;

  CpuSet united(const CpuSet& other) const;
  CpuSet intersected(const CpuSet& other) const;
  CpuSet without(const CpuSet& other) const;
  bool is_subset_of(const CpuSet& other) const;

  friend bool operator==(const CpuSet&, const CpuSet&) = default;
  friend std::ostream& operator<<(std::ostream& os, const CpuSet& s);

 private:
  std::vector<int> ids_;
};

}  // namespace nodepack::numa
