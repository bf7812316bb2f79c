#include "bpf/irq/irq_collector.hpp"

#include "bpf/bpf_stats.hpp"
#include "bpf/irq/irq.h"
#include "bpf/libbpf_log.hpp"
#include "bpf/map_reader.hpp"
#include "bpf/program_variants.hpp"
#include "bpf/skeleton.hpp"

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
  Skeleton<irq_bpf> skel;
};

IrqCollector::IrqCollector(FeatureProbe& features) : features_(features) {}
IrqCollector::~IrqCollector() = default;

Result<void> IrqCollector::start() {
  route_libbpf_logs_to_spdlog();
  auto flavor = choose_flavor(features_, {"irq_handler_entry", "irq_handler_exit", "softirq_entry", "softirq_exit"});
  if (!flavor) {
    return flavor.error();
  }
  auto skel = Skeleton<irq_bpf>::open();
  if (!skel) {
    return skel.error();
  }
  auto& s = *skel;
  select_flavor(*flavor,
                {s->progs.irq_entry_btf, s->progs.irq_exit_btf, s->progs.softirq_entry_btf, s->progs.softirq_exit_btf},
                {s->progs.irq_entry_raw, s->progs.irq_exit_raw, s->progs.softirq_entry_raw, s->progs.softirq_exit_raw});
  if (auto r = s.load(); !r) {
    return r;
  }
  if (auto r = s.attach(); !r) {
    return r;
  }
  spdlog::info("bpf collector irq: attached ({})", to_string(*flavor));
  impl_ = std::make_unique<Impl>(Impl{std::move(s)});
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

Result<void> IrqCollector::collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  if (!impl_) {
    return fail("not started");
  }
  using prometheus::MetricType;
  auto hw_lat =
      make_family("kpod_irq_hw_latency_seconds", "Hardware interrupt handler time (seconds)", MetricType::Histogram);
  auto hw_count = make_family("kpod_irq_hw_count_total", "Hardware interrupt count", MetricType::Counter);
  auto sw_lat =
      make_family("kpod_irq_sw_latency_seconds", "Software interrupt handler time (seconds)", MetricType::Histogram);
  auto hard = read_hard();
  last_entries_ = hard.size();
  for (const auto& [name, h] : hard) {
    std::vector<prometheus::ClientMetric::Label> labels{{"irq", name}, {"node", ctx.node}};
    auto m = histogram_metric(labels, h);
    hw_count.metric.push_back(counter_metric(labels, static_cast<double>(m.histogram.sample_count)));
    hw_lat.metric.push_back(std::move(m));
  }
  for (const auto& [vec, h] : read_soft()) {
    sw_lat.metric.push_back(histogram_metric({{"vector", vec}, {"node", ctx.node}}, h));
  }
  out.push_back(std::move(hw_lat));
  out.push_back(std::move(hw_count));
  out.push_back(std::move(sw_lat));
  return {};
}

std::vector<ProgramStats> IrqCollector::program_stats() const {
  return impl_ ? program_stats_of(impl_->skel->obj) : std::vector<ProgramStats>{};
}

std::vector<MapStats> IrqCollector::map_stats() const {
  if (!impl_) {
    return {};
  }
  return {map_stats_of(impl_->skel->maps.hard, last_entries_)};
}

}  // namespace nodepack::bpf
