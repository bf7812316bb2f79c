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

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, SYSCALL_MAX_KEYS);
	__type(key, struct syscall_key);
	__type(value, struct syscall_stats);
} stats SEC(".maps");

static const struct syscall_stats zero_stats;

static __always_inline void on_enter(long id)
{
	struct syscall_start st = {};
	__u32 tid;

	if (id < 0 || id >= SYSCALL_MAX_NR || !tracked[id])
		return;
	tid = (__u32)bpf_get_current_pid_tgid();
	st.ts = bpf_ktime_get_ns();
	st.nr = (__u32)id;
	bpf_map_update_elem(&inflight, &tid, &st, BPF_ANY);
}

static __always_inline void on_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct syscall_start *st = bpf_map_lookup_elem(&inflight, &tid);
	struct syscall_key key = {};
	struct syscall_stats *s;
	__u64 now, delta;

	if (!st)
		return;
	now = bpf_ktime_get_ns();
	delta = now > st->ts ? now - st->ts : 0;
	key.nr = st->nr;
	bpf_map_delete_elem(&inflight, &tid);
	key.cgroup_id = bpf_get_current_cgroup_id();
	s = nodepack_lookup_or_init(&stats, &key, &zero_stats);
	if (!s)
		return;
	if (ret < 0)
		s->errors++;
	nodepack_hist_record(&s->latency, delta, false);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_btf, struct pt_regs *regs, long id)
{
	on_enter(id);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret)
{
	on_exit(ret);
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter_raw, struct pt_regs *regs, long id)
{
	on_enter(id);
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit_raw, struct pt_regs *regs, long ret)
{
	on_exit(ret);
	return 0;
}
