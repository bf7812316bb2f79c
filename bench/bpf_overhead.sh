#!/usr/bin/env bash
# Per-event cost of nodepack's sched BPF programs vs a bpftrace runqlat equivalent, same load,
# same run. Needs root and a build with NODEPACK_BENCH=ON:
#
#   bench/bpf_overhead.sh <build-dir> [seconds-per-phase] [ping-pong-pairs]
#
# bpftrace is optional (Debian: apt-get install bpftrace); without it only nodepack is measured.
# NODEPACK_BENCH_ABLATION=1 adds one phase per step of the switch program (sched_ablation.bpf.c).
set -euo pipefail
build=${1:?usage: $0 <build-dir> [seconds] [pairs]}
seconds=${2:-5}
pairs=${3:-2}
here=$(cd "$(dirname "$0")" && pwd)
tool="$build/bench/bench_bpf_overhead"
[[ -x $tool ]] || { echo "build $tool first (cmake -DNODEPACK_BENCH=ON, target bench_bpf_overhead)" >&2; exit 1; }

args=(--seconds "$seconds" --pairs "$pairs" --syscalls ${NODEPACK_BENCH_ABLATION:+--ablation})
# bpftrace 0.17 has no raw tracepoint probes; its tracepoint probes need tracefs. Mount it for the
# run when it is not there, and unmount it again afterwards.
mounted_tracefs=
if command -v bpftrace >/dev/null && [[ ! -e /sys/kernel/tracing/events ]] && [[ ! -e /sys/kernel/debug/tracing/events ]]; then
  mount -t tracefs nodev /sys/kernel/tracing && mounted_tracefs=1
  trap '[[ -n $mounted_tracefs ]] && umount /sys/kernel/tracing' EXIT
  echo "# mounted tracefs at /sys/kernel/tracing for bpftrace (unmounted on exit)"
fi
if command -v bpftrace >/dev/null; then
  echo "# $(bpftrace --version)"
  args+=(--bpftrace "$(command -v bpftrace)" --script "$here/bpf_overhead_runqlat.bt")
else
  echo "# bpftrace not installed: measuring nodepack only"
fi
echo "# kernel $(uname -r), $(nproc) CPUs"
"$tool" "${args[@]}"
