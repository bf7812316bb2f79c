/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* irq collector: hard and soft interrupt handler time per node (interrupts belong to no pod). */
#pragma once

#include "nodepack_hist.h"

#define IRQ_NAME_LEN 32
#define IRQ_MAX_HANDLERS 512
#define IRQ_SOFTIRQ_VECTORS 10 /* NR_SOFTIRQS: hi timer net_tx net_rx block irq_poll tasklet sched hrtimer rcu */

/* Key of the per-CPU `hard` map: the handler's name (struct irqaction.name). */
struct irq_key {
	char name[IRQ_NAME_LEN];
};

/* Value of the `hard` map and of the `soft` per-CPU array (index = vector). */
struct irq_stats {
	struct nodepack_hist latency; /* handler entry to exit, ns; latency.count = handler runs */
};
