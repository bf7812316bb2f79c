/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* log2 histogram helpers for BPF programs. */
#pragma once

#include "nodepack_hist.h"

static __always_inline __u32 nodepack_log2_u32(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 nodepack_log2_u64(__u64 v)
{
	__u32 hi = v >> 32;

	if (hi)
		return nodepack_log2_u32(hi) + 32;
	return nodepack_log2_u32((__u32)v);
}

/* Records one value, already bucketed in `slot`, in a histogram the caller owns exclusively
 * (per-CPU map value) or shares (plain map value, hence the atomic adds). Slots past the last
 * land in the last. A shared histogram's count is left alone, to save an atomic add per value:
 * user space takes every histogram's count from its slots (log2_samples). */
static __always_inline void nodepack_hist_record_slot(struct nodepack_hist *h, __u32 slot, __u64 ns, bool atomic)
{
	if (slot >= NODEPACK_HIST_SLOTS)
		slot = NODEPACK_HIST_SLOTS - 1;
	if (atomic) {
		__sync_fetch_and_add(&h->slots[slot], 1);
		__sync_fetch_and_add(&h->sum_ns, ns);
	} else {
		h->slots[slot]++;
		h->sum_ns += ns;
		h->count++;
	}
}

/* Records one value in its log2 bucket (see nodepack_hist_record_slot). */
static __always_inline void nodepack_hist_record(struct nodepack_hist *h, __u64 ns, bool atomic)
{
	nodepack_hist_record_slot(h, nodepack_log2_u64(ns), ns, atomic);
}
