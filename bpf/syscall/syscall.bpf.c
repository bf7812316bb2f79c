// SPDX-License-Identifier: GPL-2.0
/* Tracked syscalls per cgroup v2: raw_syscalls sys_enter/sys_exit. Syscalls run in the calling
 * task's context, so the current cgroup is the right one here. Only syscalls user space marks in
 * `tracked` (read-only data, set before load) cost more than one array lookup. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "hist.bpf.h"
#include "maps.bpf.h"
#include "syscall.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u8 tracked[SYSCALL_MAX_NR] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SYSCALL_MAX_INFLIGHT);
	__type(key, __u32);
	__type(value, struct syscall_start);
} inflight SEC(".maps");

/* tp_btf programs keep the in-flight call in task-local storage (as sched does); raw_tp ones use
 * `inflight`. User space creates only the map the chosen programs use. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct syscall_start);
} task_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, SYSCALL_MAX_KEYS);
	__type(key, struct syscall_key);
	__type(value, struct syscall_stats);
} stats SEC(".maps");

static const struct syscall_stats zero_stats;

/* `btf` is a constant at every call site, as in sched. */
static __always_inline void on_enter(long id, bool btf)
{
	struct syscall_start st = {}, *slot;
	__u32 tid;

	if (id < 0 || id >= SYSCALL_MAX_NR || !tracked[id])
		return;
	st.ts = bpf_ktime_get_ns();
	st.nr = (__u32)id;
	if (btf) {
		slot = bpf_task_storage_get(&task_inflight, bpf_get_current_task_btf(), 0,
					    BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (slot)
			*slot = st;
		return;
	}
	tid = (__u32)bpf_get_current_pid_tgid();
	if (bpf_map_update_elem(&inflight, &tid, &st, BPF_ANY))
		nodepack_count_map_error();
}

static __always_inline void on_exit(long ret, bool btf)
{
	struct syscall_start *st, start;
	struct syscall_key key = {};
	struct syscall_stats *s;
	__u64 now, delta;
	__u32 tid = 0;

	if (btf) {
		st = bpf_task_storage_get(&task_inflight, bpf_get_current_task_btf(), 0, 0);
		if (!st || !st->ts)
			return;
	} else {
		tid = (__u32)bpf_get_current_pid_tgid();
		st = bpf_map_lookup_elem(&inflight, &tid);
		if (!st)
			return;
	}
	start = *st;
	if (btf)
		st->ts = 0;
	else
		bpf_map_delete_elem(&inflight, &tid);
	now = bpf_ktime_get_ns();
	delta = now > start.ts ? now - start.ts : 0;
	key.nr = start.nr;
	key.cgroup_id = bpf_get_current_cgroup_id();
	s = nodepack_cgroup_lookup_or_init(&stats, &key, key.cgroup_id, &zero_stats);
	if (!s)
		return;
	if (ret < 0)
		s->errors++;
	nodepack_hist_record(&s->latency, delta, false);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_btf, struct pt_regs *regs, long id)
{
	on_enter(id, true);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret)
{
	on_exit(ret, true);
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter_raw, struct pt_regs *regs, long id)
{
	on_enter(id, false);
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit_raw, struct pt_regs *regs, long ret)
{
	on_exit(ret, false);
	return 0;
}
