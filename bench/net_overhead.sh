#!/usr/bin/env bash
# Loopback TCP throughput and per-packet BPF program cost with nodepack's network collectors,
# against no collector, in one run (bench_net_overhead). Needs root and a build with
# NODEPACK_BENCH=ON; iperf3 from Debian (apt-get install iperf3).
#
#   bench/net_overhead.sh <build-dir> [seconds-per-phase] [rounds] [collectors] [together-only: 1] [more flags]
#
# More flags go to bench_net_overhead as they are: --http-seconds N (keep-alive HTTP requests
# after each transfer), --objects name=file.bpf.o,... (programs of an object file as a phase of
# their own: a collector built at another commit, for before/after in one run), --empty 1 (the
# cost of a cgroup_skb program that returns at once), --pin 1 (server on CPU 0, client on CPU 1; same: both on CPU 1),
# --stats-off 1 (every collector with the kernel's run-time statistics off).
#
# After each transfer, 200,000 UDP datagrams sendto -> recvfrom between the same pods give the
# topology collector's UDP programs a cost per run.
#
# Loopback throughput on a shared VM moves by 10 % from one transfer to the next: for the loss
# with everything on, run baseline and all together only, for many rounds (… 5 10 tcp,... 1).
set -euo pipefail
build=${1:?usage: $0 <build-dir> [seconds] [rounds] [collectors]}
seconds=${2:-5}
rounds=${3:-3}
collectors=${4:-tcp,topology,dns,http}
together=${5:-0}
tool="$build/bench/bench_net_overhead"
[[ -x $tool ]] || { echo "build $tool first (cmake -DNODEPACK_BENCH=ON, target bench_net_overhead)" >&2; exit 1; }
iperf3=$(command -v iperf3) || { echo "iperf3 is needed (apt-get install iperf3)" >&2; exit 1; }
echo "# $(iperf3 --version | head -1); kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
# Statistics switched on by the sysctl (rather than by a program's fd) would be on in every phase.
[[ $(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null || echo 0) == 0 ]] ||
  echo "# kernel.bpf_stats_enabled is 1: run-time statistics are on in every phase" >&2
"$tool" --iperf3 "$iperf3" --seconds "$seconds" --rounds "$rounds" --collectors "$collectors" --together-only "$together" "${@:6}"
