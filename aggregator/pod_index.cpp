#include "aggregator/pod_index.hpp"

#include <cstring>

namespace nodepack::aggregator {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;  // uppercase too: it would read back lowercase, another text for the same bytes
}

}  // namespace

std::optional<Uuid> parse_uuid(std::string_view text) {
  if (text.size() != 36) {
    return std::nullopt;
  }
  Uuid out{};
  std::size_t byte = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') {
        return std::nullopt;
      }
      ++i;
      continue;
    }
    const int high = hex_digit(text[i]);
    const int low = hex_digit(text[i + 1]);
    if (high < 0 || low < 0) {
      return std::nullopt;
    }
    out[byte++] = static_cast<std::uint8_t>(high << 4 | low);
    i += 2;
  }
  return out;
}

std::size_t PodIndex::PositionHash::operator()(const Uuid& u) const {
  std::uint64_t a;
  std::uint64_t b;
  std::memcpy(&a, u.data(), 8);
  std::memcpy(&b, u.data() + 8, 8);
  return static_cast<std::size_t>(a ^ (b * 0x9E3779B97F4A7C15ULL));
}

PodIndex::PodIndex()
    : entries_(std::make_unique<std::deque<Entry>>()),
      positions_(0, PositionHash{entries_.get()}, PositionEqual{entries_.get()}) {}

void PodIndex::swap(PodIndex& other) noexcept {
  // Each table's hasher goes with the entries it points at.
  entries_.swap(other.entries_);
  positions_.swap(other.positions_);
  by_text_.swap(other.by_text_);
}

PodRecord* PodIndex::find(std::string_view key) {
  if (const auto uuid = parse_uuid(key)) {
    const auto it = positions_.find(*uuid);
    return it == positions_.end() ? nullptr : &(*entries_)[*it].record;
  }
  const auto it = by_text_.find(key);
  return it == by_text_.end() ? nullptr : &it->second;
}

void PodIndex::put(std::string_view key, const PodRecord& record) {
  const auto uuid = parse_uuid(key);  // once: every pod event comes here
  if (!uuid) {
    if (const auto it = by_text_.find(key); it != by_text_.end()) {
      it->second = record;
    } else {
      by_text_.emplace(std::string(key), record);
    }
    return;
  }
  if (const auto it = positions_.find(*uuid); it != positions_.end()) {
    (*entries_)[*it].record = record;
    return;
  }
  entries_->push_back(Entry{*uuid, record});
  positions_.insert(static_cast<std::uint32_t>(entries_->size() - 1));  // hashes the key just stored
}

bool PodIndex::erase(std::string_view key) {
  if (const auto uuid = parse_uuid(key)) {
    const auto it = positions_.find(*uuid);
    if (it == positions_.end()) {
      return false;
    }
    const std::uint32_t hole = *it;
    const auto last = static_cast<std::uint32_t>(entries_->size() - 1);
    positions_.erase(it);
    if (hole != last) {
      // The last entry fills the hole: its position is re-entered, hashed by its key both times.
      positions_.erase(last);
      (*entries_)[hole] = (*entries_)[last];
      positions_.insert(hole);
    }
    entries_->pop_back();
    return true;
  }
  const auto it = by_text_.find(key);
  if (it == by_text_.end()) {
    return false;
  }
  by_text_.erase(it);
  return true;
}

}  // namespace nodepack::aggregator
