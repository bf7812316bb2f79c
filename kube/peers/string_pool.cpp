#include "kube/peers/string_pool.hpp"

namespace nodepack::kube::peers {

StringPool::Id StringPool::acquire(std::string_view s) {
  if (const auto it = ids_.find(s); it != ids_.end()) {
    ++slots_[it->second].refs;
    return it->second;
  }
  Id id = 0;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<Id>(slots_.size());
    slots_.emplace_back();
  }
  auto& slot = slots_[id];
  slot.text.assign(s);
  slot.refs = 1;
  ids_.emplace(slot.text, id);
  return id;
}

void StringPool::release(Id id) {
  auto& slot = slots_[id];
  if (--slot.refs > 0) {
    return;
  }
  ids_.erase(slot.text);
  slot.text = std::string();  // gives back a long name's heap
  free_.push_back(id);
}

std::optional<StringPool::Id> StringPool::find(std::string_view s) const {
  const auto it = ids_.find(s);
  return it == ids_.end() ? std::nullopt : std::optional<Id>(it->second);
}

}  // namespace nodepack::kube::peers
