#pragma once

// Pods' requests, each distinct row kept once. A row is one quantity per tracked resource; the
// pods of one workload ask for the same figures, so a cluster of millions of pods holds a few
// thousand rows and each pod only a row's id (aggregator/pod_index.hpp). Rows are counted by
// reference and a row no pod holds any more is dropped and its id reused, so churn through
// ever-new figures (a vertical autoscaler) does not grow the table.

#include "kube/quantity.hpp"

#include <boost/unordered/unordered_flat_set.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace nodepack::aggregator {

class RequestRows {
 public:
  static constexpr std::uint32_t none = UINT32_MAX;

  // `width`: quantities per row, the number of tracked resources.
  explicit RequestRows(std::size_t width);
  // The index's hasher points at this object.
  RequestRows(const RequestRows&) = delete;
  RequestRows& operator=(const RequestRows&) = delete;

  // The id of a row equal to `row` (width() quantities), one more reference to it.
  std::uint32_t acquire(std::span<const kube::Quantity> row);
  // One reference fewer; `none` is ignored.
  void release(std::uint32_t id);
  std::span<const kube::Quantity> row(std::uint32_t id) const;
  bool equals(std::uint32_t id, std::span<const kube::Quantity> row) const;

  std::size_t width() const { return width_; }
  std::size_t distinct() const { return index_.size(); }  // rows some pod holds
  std::uint32_t references(std::uint32_t id) const { return refs_[id]; }

 private:
  struct Hash {
    using is_transparent = void;
    const RequestRows* rows;
    std::size_t operator()(std::uint32_t id) const { return (*this)(rows->row(id)); }
    std::size_t operator()(std::span<const kube::Quantity> row) const;
  };
  struct Equal {
    using is_transparent = void;
    const RequestRows* rows;
    std::span<const kube::Quantity> view(std::uint32_t id) const { return rows->row(id); }
    static std::span<const kube::Quantity> view(std::span<const kube::Quantity> row) { return row; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::ranges::equal(view(a), view(b));
    }
  };

  std::size_t width_;
  std::vector<kube::Quantity> values_;  // width_ per id
  std::vector<std::uint32_t> refs_;     // per id; 0: free
  std::vector<std::uint32_t> free_;     // ids to reuse
  boost::unordered_flat_set<std::uint32_t, Hash, Equal> index_;
};

}  // namespace nodepack::aggregator
