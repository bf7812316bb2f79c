/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* oom collector: OOM kills per cgroup v2 of the victim. */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define OOM_MAX_CGROUPS 10240

/* `kills` map: key cgroup v2 id (__u64), value kill count (__u64). */
