#include "aggregator/request_rows.hpp"

#include <algorithm>

namespace nodepack::aggregator {

RequestRows::RequestRows(std::size_t width) : width_(width), index_(0, Hash{this}, Equal{this}) {}

std::size_t RequestRows::Hash::operator()(std::span<const kube::Quantity> row) const {
  // The table post-mixes it; this only has to tell rows apart.
  std::size_t h = row.size();
  for (const auto& q : row) {
    const kube::Int128 n = q.nanos();
    h = h * 0x9E3779B97F4A7C15ULL ^ static_cast<std::uint64_t>(n) ^ static_cast<std::uint64_t>(n >> 64) * 31;
  }
  return h;
}

std::span<const kube::Quantity> RequestRows::row(std::uint32_t id) const {
  return {values_.data() + static_cast<std::size_t>(id) * width_, width_};
}

bool RequestRows::equals(std::uint32_t id, std::span<const kube::Quantity> row) const {
  return std::ranges::equal(this->row(id), row);
}

std::uint32_t RequestRows::acquire(std::span<const kube::Quantity> row) {
  if (const auto it = index_.find(row); it != index_.end()) {
    ++refs_[*it];
    return *it;
  }
  std::uint32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
    std::ranges::copy(row, values_.begin() + static_cast<std::ptrdiff_t>(id * width_));
  } else {
    id = static_cast<std::uint32_t>(refs_.size());
    values_.insert(values_.end(), row.begin(), row.end());
    refs_.push_back(0);
  }
  refs_[id] = 1;
  index_.insert(id);  // hashes the row just written
  return id;
}

void RequestRows::release(std::uint32_t id) {
  if (id == none || --refs_[id] != 0) {
    return;
  }
  index_.erase(id);  // before the id is reused: its row is still in place to hash
  free_.push_back(id);
}

}  // namespace nodepack::aggregator
