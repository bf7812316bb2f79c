/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The lossy link's configuration and counters (lossy_link.bpf.c), read and written by the
 * test's user space (lossy_link.cpp). */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct lossy_config {
	__u16 port;	/* source port whose segments may be dropped (0: none) */
	__u16 every;	/* drop every n-th candidate */
	__u32 pad;
	__u64 seen;	/* candidates seen */
	__u64 dropped;	/* and dropped */
};
