#include "agent/accounting/finished_lines.hpp"

#include <tuple>

namespace nodepack::agent::accounting {

void FinishedLines::begin() {
  next_.clear();
  next_.reserve(kept_.size());
  cursor_ = 0;
}

void FinishedLines::end() {
  kept_.swap(next_);
  next_.clear();
}

FinishedLines::Kept FinishedLines::values_of(const ContainerAccount& a) {
  Kept k;
  k.pod_uid = a.pod_uid;
  k.container = a.container;
  k.cpu_requested = a.cpu_requested;
  k.cpu_limited = a.cpu_limited;
  k.memory_requested = a.memory_requested;
  k.memory_used = a.memory_used;
  k.has_cpu_limit = a.has_cpu_limit;
  k.has_memory_used = a.has_memory_used;
  k.gpu_seconds = a.gpu_seconds;
  return k;
}

bool FinishedLines::same_values(const Kept& k, const ContainerAccount& a) {
  return k.cpu_requested == a.cpu_requested && k.cpu_limited == a.cpu_limited &&
         k.memory_requested == a.memory_requested && k.memory_used == a.memory_used &&
         k.has_cpu_limit == a.has_cpu_limit && k.has_memory_used == a.has_memory_used && k.gpu_seconds == a.gpu_seconds;
}

FinishedLines::Kept* FinishedLines::find(const ContainerAccount& a) {
  // Both walks go in key order, so the cursor only moves forward: no lookup per account.
  const auto key = std::tie(a.pod_uid, a.container);
  while (cursor_ < kept_.size() && std::tie(kept_[cursor_].pod_uid, kept_[cursor_].container) < key) {
    ++cursor_;
  }
  if (cursor_ == kept_.size() || std::tie(kept_[cursor_].pod_uid, kept_[cursor_].container) != key) {
    return nullptr;
  }
  Kept& k = kept_[cursor_++];
  return same_values(k, a) ? &k : nullptr;
}

}  // namespace nodepack::agent::accounting
