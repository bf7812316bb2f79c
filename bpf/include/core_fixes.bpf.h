/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Every kernel-version difference the programs care about, resolved with CO-RE existence checks
 * against the running kernel's BTF. Each check names the kernel change behind it. */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

/* Linux 5.14, commit 2f064a59a11f ("sched: Change task_struct::state"): `state` became
 * `__state` (and lost `volatile long` for `unsigned int`). */
struct task_struct___pre_5_14 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline __s64 nodepack_task_state(const struct task_struct *task)
{
	if (bpf_core_field_exists(task->__state))
		return BPF_CORE_READ(task, __state);
	return BPF_CORE_READ((struct task_struct___pre_5_14 *)task, state);
}

/* The same for BTF-typed pointers (tp_btf): direct loads, no helper call per field. */
static __always_inline __s64 nodepack_task_state_btf(const struct task_struct *task)
{
	if (bpf_core_field_exists(task->__state))
		return task->__state;
	return ((struct task_struct___pre_5_14 *)task)->state;
}

/* Linux 5.5, commit 67c0496e87d1 ("kernfs: convert kernfs_node->id from union kernfs_node_id
 * to u64"): before it the id was a union whose 64-bit view is `id.id`. The cgroup id seen by
 * user space (the cgroup directory's inode on cgroup2) is this value. */
union kernfs_node_id___pre_5_5 {
	struct {
		__u32 ino;
		__u32 generation;
	};
	__u64 id;
};

struct kernfs_node___pre_5_5 {
	union kernfs_node_id___pre_5_5 id;
} __attribute__((preserve_access_index));

static __always_inline __u64 nodepack_kernfs_id(const struct kernfs_node *kn)
{
	if (bpf_core_type_exists(union kernfs_node_id___pre_5_5))
		return BPF_CORE_READ((struct kernfs_node___pre_5_5 *)kn, id.id);
	return BPF_CORE_READ(kn, id);
}

static __always_inline __u64 nodepack_cgroup_id(const struct cgroup *cgrp)
{
	if (!cgrp)
		return 0;
	return nodepack_kernfs_id(BPF_CORE_READ(cgrp, kn));
}

/* The cgroup v2 ("default hierarchy") cgroup of any task, not only current. */
static __always_inline __u64 nodepack_task_cgroup_id(const struct task_struct *task)
{
	return nodepack_cgroup_id(BPF_CORE_READ(task, cgroups, dfl_cgrp));
}

/* For BTF-typed task pointers (tp_btf): the same chain as direct loads. */
static __always_inline __u64 nodepack_task_cgroup_id_btf(const struct task_struct *task)
{
	const struct kernfs_node *kn = task->cgroups->dfl_cgrp->kn;

	if (bpf_core_type_exists(union kernfs_node_id___pre_5_5))
		return ((struct kernfs_node___pre_5_5 *)kn)->id.id;
	return kn->id;
}

/* Linux 5.15, commit 8520e224f547 ("bpf, cgroups: Fix cgroup v2 fallback on v1/v2 mixed
 * mode"): sock_cgroup_data became a plain `struct cgroup *cgroup`. Before it the pointer shared
 * a u64 `val` with the v1 classid/prioidx and was valid only when bit 0 (is_data) was clear. */
struct sock_cgroup_data___pre_5_15 {
	__u64 val;
} __attribute__((preserve_access_index));

static __always_inline __u64 nodepack_sock_cgroup_id(const struct sock *sk)
{
	const struct sock_cgroup_data *skcd = &sk->sk_cgrp_data;

	if (bpf_core_field_exists(skcd->cgroup))
		return nodepack_cgroup_id(BPF_CORE_READ(skcd, cgroup));

	__u64 val = BPF_CORE_READ((struct sock_cgroup_data___pre_5_15 *)skcd, val);
	if (val & 1)
		return 0; /* net_cls/net_prio data in use: the v2 cgroup is not recorded */
	return nodepack_cgroup_id((const struct cgroup *)(unsigned long)val);
}

/* Linux 5.6, commit bf9765145b85 ("sock: Make sk_protocol a 16-bit value"): sk_protocol was an
 * 8-bit bitfield before. The probed bitfield read handles both layouts. */
static __always_inline __u16 nodepack_sk_protocol(const struct sock *sk)
{
	return (__u16)BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
}

/* The cgroup a block request is charged to: its first bio's blkg → blkcg. Kernels built
 * without CONFIG_BLK_CGROUP have no bio->bi_blkg: 0 (uncharged). On a host whose io controller
 * is still bound to cgroup v1 this is the v1 blkio cgroup, which no pod resolves to. */
static __always_inline __u64 nodepack_request_cgroup_id(const struct request *rq)
{
	const struct bio *bio = BPF_CORE_READ(rq, bio);

	if (!bio || !bpf_core_field_exists(bio->bi_blkg))
		return 0;
	return nodepack_cgroup_id(BPF_CORE_READ(bio, bi_blkg, blkcg, css.cgroup));
}
