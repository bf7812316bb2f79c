/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shape of every log2 latency histogram, read by the BPF programs and by user space.
 * Slot i counts values v (nanoseconds) with floor(log2(v)) == i; slot 0 also takes v == 0 and
 * the last slot takes everything at or above 2^(NODEPACK_HIST_SLOTS-1) ns. */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define NODEPACK_HIST_SLOTS 36 /* 2^35 ns ~ 34 s: the last finite bucket edge is above 10 s */

/* struct layout used by all collectors: fixed width, no implicit padding */
struct nodepack_hist {
	__u64 slots[NODEPACK_HIST_SLOTS];
	__u64 sum_ns;
	__u64 count; /* values recorded; a program sharing the histogram between CPUs (atomic adds)
		      * may leave it 0 to save an add: user space counts the slots (log2_samples) */
};
