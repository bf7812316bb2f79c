#include "kube/peers/peer_model.hpp"

#include "kube/parse_each.hpp"

#include <malloc.h>

#include <mutex>

namespace nodepack::kube::peers {
namespace {

namespace json = boost::json;

// A cluster-wide list's parsed pages are freed between the entries the table keeps, so the
// allocator cannot return them by itself: at 60,000 pods that held 30 MiB more than the table
// needs, counted by the DaemonSet's memory limit. Once per list page (hundreds of objects) and
// once per list, never per watch event.
void give_back_freed_memory() { ::malloc_trim(0); }

// A reflector sink over one table. Every list is taken page by page into a table of its own
// (the model's pool shared), swapped in when the list completes: a cluster-wide pod list is never
// held parsed at once, and lookups see the old state until the new one is whole.
template <class Table, class Digest>
class TableSink final : public ReflectorSink {
 public:
  using Parse = Result<Digest> (*)(const json::value&);
  TableSink(std::shared_mutex& mutex, StringPool& pool, Table& table, Parse parse)
      : mutex_(mutex), pool_(pool), table_(table), parse_(parse) {}

  Result<void> replace(const std::vector<json::value>& items) override {
    begin_pages();
    auto added = add_page(items);
    auto finished = finish_pages();
    return added ? finished : added;
  }

  Result<void> apply(WatchEventType type, const json::value& object) override {
    auto digest = parse_(object);
    if (!digest) {
      return digest.error();
    }
    std::unique_lock lock(mutex_);
    if (type == WatchEventType::deleted) {
      table_.remove(*digest);
    } else {
      table_.upsert(*digest);
    }
    return {};
  }

  bool takes_pages() const override { return true; }

  void begin_pages() override {
    std::unique_lock lock(mutex_);
    pending_ = std::make_unique<Table>(pool_);
  }

  Result<void> add_page(const std::vector<json::value>& items) override {
    std::vector<Digest> digests;
    digests.reserve(items.size());
    const auto errors = parse_each(items, parse_, [&](Digest d) { digests.push_back(std::move(d)); });
    std::unique_lock lock(mutex_);
    if (!pending_) {
      pending_ = std::make_unique<Table>(pool_);
    }
    for (const auto& d : digests) {
      pending_->upsert(d);
    }
    lock.unlock();
    give_back_freed_memory();  // the page's parse, between the entries kept
    return failed_items(errors);
  }

  Result<void> finish_pages() override {
    {
      std::unique_lock lock(mutex_);
      if (!pending_) {
        return {};
      }
      table_.swap(*pending_);
      pending_.reset();  // the old state, released into the pool under the lock
    }
    give_back_freed_memory();  // the old table
    return {};
  }

 private:
  std::shared_mutex& mutex_;
  StringPool& pool_;
  Table& table_;
  Parse parse_;
  std::unique_ptr<Table> pending_;
};

}  // namespace

PeerModel::PeerModel()
    : pods_(pool_),
      services_(pool_),
      slices_(pool_),
      pod_sink_(std::make_unique<TableSink<PodTable, PodDigest>>(mutex_, pool_, pods_, parse_pod_digest)),
      service_sink_(
          std::make_unique<TableSink<ServiceTable, ServiceDigest>>(mutex_, pool_, services_, parse_service_digest)),
      slice_sink_(std::make_unique<TableSink<SliceTable, SliceDigest>>(mutex_, pool_, slices_, parse_slice_digest)) {}

PeerModel::~PeerModel() {
  // The sinks' pending tables release into the pool: gone before it.
  pod_sink_.reset();
  service_sink_.reset();
  slice_sink_.reset();
}

std::optional<PeerName> PeerModel::owner_of(const boost::asio::ip::address& address) const {
  const auto key = AddressKey::of(address);
  std::shared_lock lock(mutex_);
  if (auto pod = pods_.find(key)) {
    return pod;
  }
  return services_.find(key);
}

std::optional<PeerName> PeerModel::service_of(const boost::asio::ip::address& pod_address, std::uint16_t port) const {
  const auto key = AddressKey::of(pod_address);
  std::shared_lock lock(mutex_);
  return slices_.find(key, port);
}

PeerCounts PeerModel::counts() const {
  std::shared_lock lock(mutex_);
  return PeerCounts{pods_.size(),   pods_.addresses(),   services_.size(),
                    slices_.size(), slices_.addresses(), pool_.live()};
}

}  // namespace nodepack::kube::peers
