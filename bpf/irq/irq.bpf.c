// SPDX-License-Identifier: GPL-2.0
/* Hard IRQ handler time by handler name and softirq time by vector, like bcc's hardirqs and
 * softirqs. Handlers of one kind do not nest on a CPU, so one per-CPU start slot each suffices. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "hist.bpf.h"
#include "maps.bpf.h"
#include "irq.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* 0: hard irq start, 1: softirq start */
	__type(key, __u32);
	__type(value, __u64);
} started SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, IRQ_MAX_HANDLERS);
	__type(key, struct irq_key);
	__type(value, struct irq_stats);
} hard SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IRQ_SOFTIRQ_VECTORS);
	__type(key, __u32);
	__type(value, struct irq_stats);
} soft SEC(".maps");

static const struct irq_stats zero_stats;

static __always_inline void mark(__u32 slot)
{
	__u64 *ts = bpf_map_lookup_elem(&started, &slot);

	if (ts)
		*ts = bpf_ktime_get_ns();
}

/* Nanoseconds since mark(slot), consuming the mark; 0 when there was none. */
static __always_inline __u64 elapsed(__u32 slot)
{
	__u64 *ts = bpf_map_lookup_elem(&started, &slot), now, d;

	if (!ts || !*ts)
		return 0;
	now = bpf_ktime_get_ns();
	d = now > *ts ? now - *ts : 0;
	*ts = 0;
	return d;
}

static __always_inline void hard_exit(struct irqaction *action)
{
	struct irq_key key = {};
	struct irq_stats *st;
	__u64 d = elapsed(0);

	if (!d)
		return;
	bpf_probe_read_kernel_str(key.name, sizeof(key.name), BPF_CORE_READ(action, name));
	st = nodepack_lookup_or_init(&hard, &key, &zero_stats);
	if (st)
		nodepack_hist_record(&st->latency, d, false);
}

static __always_inline void soft_exit(unsigned int vec)
{
	struct irq_stats *st;
	__u32 v = vec;
	__u64 d = elapsed(1);

	if (!d || v >= IRQ_SOFTIRQ_VECTORS)
		return;
	st = bpf_map_lookup_elem(&soft, &v);
	if (st)
		nodepack_hist_record(&st->latency, d, false);
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(irq_entry_btf)
{
	mark(0);
	return 0;
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(irq_exit_btf, int irq, struct irqaction *action)
{
	hard_exit(action);
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(softirq_entry_btf)
{
	mark(1);
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(softirq_exit_btf, unsigned int vec)
{
	soft_exit(vec);
	return 0;
}

SEC("raw_tp/irq_handler_entry")
int BPF_PROG(irq_entry_raw)
{
	mark(0);
	return 0;
}

SEC("raw_tp/irq_handler_exit")
int BPF_PROG(irq_exit_raw, int irq, struct irqaction *action)
{
	hard_exit(action);
	return 0;
}

SEC("raw_tp/softirq_entry")
int BPF_PROG(softirq_entry_raw)
{
	mark(1);
	return 0;
}

SEC("raw_tp/softirq_exit")
int BPF_PROG(softirq_exit_raw, unsigned int vec)
{
	soft_exit(vec);
	return 0;
}
