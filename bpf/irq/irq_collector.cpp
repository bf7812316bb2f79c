#include "bpf/irq/irq_collector.hpp"

#include "bpf/collectors.hpp"
#include "bpf/irq/irq.h"
#include "bpf/map_reader.hpp"
#include "bpf/program_variants.hpp"

#include "irq.skel.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cstring>

namespace nodepack::bpf {

namespace {
constexpr std::array<const char*, IRQ_SOFTIRQ_VECTORS> kVectors = {"hi",       "timer",   "net_tx", "net_rx",  "block",
                                                                   "irq_poll", "tasklet", "sched",  "hrtimer", "rcu"};
}

struct IrqCollector::Impl {
  irq_bpf* skel = nullptr;  // owned by the collector's LoadedObject
};

IrqCollector::IrqCollector(FeatureProbe& features) : features_(features) {}
IrqCollector::~IrqCollector() = default;

Result<void> IrqCollector::start() {
  auto flavor = choose_flavor(features_, {"irq_handler_entry", "irq_handler_exit", "softirq_entry", "softirq_exit"});
  if (!flavor) {
    return flavor.error();
  }
  auto skel = load_skeleton<irq_bpf>([&](irq_bpf* s) {
    select_flavor(
        *flavor, {s->progs.irq_entry_btf, s->progs.irq_exit_btf, s->progs.softirq_entry_btf, s->progs.softirq_exit_btf},
        {s->progs.irq_entry_raw, s->progs.irq_exit_raw, s->progs.softirq_entry_raw, s->progs.softirq_exit_raw});
  });
  if (!skel) {
    return skel.error();
  }
  spdlog::info("bpf collector irq: attached ({})", to_string(*flavor));
  auto shared = std::make_shared<Skeleton<irq_bpf>>(std::move(*skel));
  impl_ = std::make_unique<Impl>(Impl{shared->get()});
  adopt(LoadedObject(std::move(shared)));
  return {};
}

std::map<std::string, Log2Hist> IrqCollector::read_hard() const {
  std::map<std::string, Log2Hist> out;
  if (!impl_) {
    return out;
  }
  auto rows = read_percpu_hash_map<irq_key, irq_stats, Log2Hist>(
      bpf_map__fd(impl_->skel->maps.hard), [](Log2Hist& acc, const irq_stats& v) { acc += v.latency; });
  for (const auto& [key, h] : rows) {
    out[std::string(key.name, strnlen(key.name, sizeof(key.name)))] += h;
  }
  return out;
}

std::map<std::string, Log2Hist> IrqCollector::read_soft() const {
  std::map<std::string, Log2Hist> out;
  if (!impl_) {
    return out;
  }
  const int fd = bpf_map__fd(impl_->skel->maps.soft);
  std::vector<irq_stats> per_cpu(static_cast<std::size_t>(possible_cpus()));
  for (std::uint32_t v = 0; v < IRQ_SOFTIRQ_VECTORS; ++v) {
    if (bpf_map_lookup_elem(fd, &v, per_cpu.data()) != 0) {
      continue;
    }
    Log2Hist h;
    for (const auto& s : per_cpu) {
      h += s.latency;
    }
    if (h.count > 0) {
      out[kVectors[v]] = h;
    }
  }
  return out;
}

Result<void> IrqCollector::collect(const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (!impl_) {
    return fail("not started");
  }
  auto hw_lat = metrics::Family::histogram("kpod_irq_hw_latency_seconds", "Hardware interrupt handler time (seconds)");
  auto hw_count = metrics::Family::counter("kpod_irq_hw_count_total", "Hardware interrupt count");
  auto sw_lat = metrics::Family::histogram("kpod_irq_sw_latency_seconds", "Software interrupt handler time (seconds)");
  const auto hard = read_hard();
  record_map(impl_->skel->maps.hard, hard.size());
  for (const auto& [name, h] : hard) {
    auto labels = ctx.scope.node_labels(ctx.node, {{"irq", name}});
    const auto buckets = log2_buckets(h);
    hw_count.add(labels, static_cast<double>(buckets.back().cumulative_count));
    hw_lat.add_histogram(std::move(labels), buckets, static_cast<double>(h.sum_ns) * 1e-9);
  }
  for (const auto& [vec, h] : read_soft()) {
    add_log2_histogram(sw_lat, ctx.scope.node_labels(ctx.node, {{"vector", vec}}), h);
  }
  metrics::emit(out, hw_lat, hw_count, sw_lat);
  return {};
}

std::unique_ptr<kpod::Collector> make_irq_collector(const BpfDeps& deps) {
  return std::make_unique<IrqCollector>(deps.features);
}

}  // namespace nodepack::bpf
