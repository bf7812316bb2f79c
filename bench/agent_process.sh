#!/usr/bin/env bash
# Whole-process cost of one agent on a full node: nodepack-sim serves one node with 110 pods and
# churns them (about 5 pod events a second reach the agent); the agent follows; we scrape /metrics
# once a second and report the agent's RSS, its peak (VmHWM) and CPU time.
# Usage: bench/agent_process.sh [BUILD_DIR] [SECONDS]
#
# The node is large enough for every pod to be bound to it (--node-allocatable): the agent only
# sees the pods of its node, and a generated 4-CPU node would hold a handful. PODS sets the pod
# count (default 110, the kubelet's default maximum). REALISTIC_PODS=1 runs the node of 250 pods
# of about 21 KB each (managedFields, a last-applied-configuration annotation and env lists, as
# real pod objects carry: a 5 MB pod list) instead; POD_BULK_BYTES sets another pod size.
# SCRAPE_EVERY=N scrapes /metrics every N seconds instead of every second (Prometheus' usual 15 s
# or 30 s), to tell what the scrapes cost from what following the churn costs.
#
# For a cross-built agent: EMULATOR=qemu-aarch64-static SIM_BUILD=build bench/agent_process.sh
# build-arm64 runs the agent under qemu-user and the simulator natively from SIM_BUILD. Its RSS is
# then the qemu process's (the agent's memory plus qemu's own, whose translated-code buffer is
# printed apart), and no CPU time is reported: it would be the cost of translation, not of arm64.
# KEEP_ALIVE=1 scrapes over one connection kept open (one curl paced by --rate), as Prometheus
# does; by default each scrape is a new curl and a new connection, as the figures before it were.
# GZIP=1 asks for every scrape gzipped (Accept-Encoding: gzip), as Prometheus does; by default
# scrapes are plain, as the figures before it were.
# SETTLE sets the seconds between the agent's readiness and the start of measuring (default 8).
# AGENT_ARGS adds agent flags (e.g. to turn collectors off for a like-for-like native run).
# AGENT_PORT sets the agent's metrics port (default 19101), so two runs on one machine do not meet.
# POD_CGROUPS=1 (root, a cgroup v2 hierarchy, util-linux's unshare and nsenter) gives the node's pods
# cgroups as the kubelet's cgroupfs driver lays them out (kubepods/<qos>/pod<uid>/<container id>,
# for the pods bound at start and their containers then), in a directory of its own under the v2
# root, with a sleeping process in each container, the pod's in network and mount namespaces of
# their own, all removed at exit: the agent then walks a real node's tree when pods change and
# reads each container's cgroup files, mounts and interfaces at each scrape. Off by default, as
# the figures before it.
# HEAPTRACK=FILE runs the agent under heaptrack, writing FILE.zst, and prints its heap peak and
# the allocations behind it (heaptrack's own memory then inflates the RSS printed).
set -euo pipefail
build=${1:-build}
seconds=${2:-60}
sim_build=${SIM_BUILD:-$build}
if [ "${REALISTIC_PODS:-0}" = 1 ]; then
  pods=${PODS:-250}
  pod_bytes=${POD_BULK_BYTES:-21000}
else
  pods=${PODS:-110}
  pod_bytes=${POD_BULK_BYTES:-0}
fi
emulator=${EMULATOR:-}
port=${AGENT_PORT:-19101}
heaptrack_out=${HEAPTRACK:-}
[ -n "$heaptrack_out" ] && emulator="heaptrack -o $heaptrack_out"
work=$(mktemp -d)
pids=()
pod_cgroups=""
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  # Deepest first: a cgroup directory goes only once it has no children.
  [ -n "$pod_cgroups" ] && find "$pod_cgroups" -depth -type d -exec rmdir {} + 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$sim_build/sim/nodepack-sim" --nodes 1 --pods-per-node "$pods" --churn-interval 1s --seed 7 \
  --node-allocatable "cpu=192,memory=768Gi,pods=$pods" --pod-bulk-bytes "$pod_bytes" \
  --kubeconfig-out "$work/kubeconfig" >"$work/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/kubeconfig" ] && break; sleep 0.1; done
if [ "${POD_CGROUPS:-0}" = 1 ]; then
  cgroup2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
  [ -n "$cgroup2" ] || { echo "POD_CGROUPS=1: no cgroup v2 hierarchy mounted" >&2; exit 1; }
  pod_cgroups="$cgroup2/nodepack-bench-agent-$$"
  server=$(awk '/server:/ { print $2; exit }' "$work/kubeconfig")
  pods_url="$server/api/v1/pods?fieldSelector=spec.nodeName%3Dsim-node-0"
  for _ in $(seq 50); do curl -sf -H "Authorization: Bearer nodepack-sim" "$pods_url" >"$work/pods.json" && break; sleep 0.1; done
  declare -A pod_process=()
  while read -r dir; do
    mkdir -p "$pod_cgroups/$dir"
    pod_dir=${dir%/*}
    # One process per container; the pod's first makes the pod's network and mount namespaces,
    # the others join them, as a pod's containers share its sandbox's.
    first=${pod_process[$pod_dir]:-}
    if [ -z "$first" ]; then
      unshare --net --mount sleep 100000 &
      pod_process[$pod_dir]=$!
    else
      nsenter --target "$first" --net --mount sleep 100000 &
    fi
    pids+=($!)
    echo $! >"$pod_cgroups/$dir/cgroup.procs"
  done < <(
    python3 -c '
import json, sys
for pod in json.load(sys.stdin)["items"]:
    uid, status = pod["metadata"]["uid"], pod.get("status", {})
    qos = status.get("qosClass", "BestEffort")
    qos_dir = "" if qos == "Guaranteed" else qos.lower() + "/"
    for c in status.get("containerStatuses", []):
        if "://" in c.get("containerID", ""):
            print("kubepods/%spod%s/%s" % (qos_dir, uid, c["containerID"].split("://", 1)[1]))
' <"$work/pods.json"
  )
  echo "pod cgroups: $(find "$pod_cgroups/kubepods" -mindepth 1 -type d | wc -l) directories under $pod_cgroups," \
    "$(cat "$pod_cgroups"/kubepods/*/pod*/*/cgroup.procs "$pod_cgroups"/kubepods/pod*/*/cgroup.procs 2>/dev/null | wc -l) processes"
fi
# shellcheck disable=SC2086 # EMULATOR and AGENT_ARGS are word lists
$emulator "$build/cmd/nodepack" agent --kubeconfig "$work/kubeconfig" --node-name sim-node-0 --auth.mode=none \
  --metrics-addr 127.0.0.1:$port --resources cpu,memory,pods,ephemeral-storage,nvidia.com/gpu,hugepages-2Mi \
  --log-level warn ${AGENT_ARGS:-} >"$work/agent.log" 2>&1 &
agent=$!
pids+=($agent)
# Emulated start-up is slower: wait up to 30 s.
for _ in $(seq 300); do curl -sf 127.0.0.1:$port/readyz >/dev/null && break; sleep 0.1; done
# The agent unmaps start-up's code pages 5 s after it is first ready (common/resident_code.hpp):
# SETTLE seconds (default 8) pass before measuring, so RSS and CPU are the settled agent's; the
# start-up peak is VmHWM's.
sleep "${SETTLE:-8}"
# heaptrack runs the agent as its child.
[ -n "$heaptrack_out" ] && agent=$(pgrep -P "$agent" -x nodepack)

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$agent/stat"; }
# The same in nanoseconds (the scheduler's run time of each thread alive at both ends): ticks are
# 10 ms, too coarse to tell builds apart in a minute's run at a fifth of a percent.
cpu_ns() { cat /proc/"$agent"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d", s}'; }
events() { curl -sf 127.0.0.1:$port/metrics | awk '/^nodepack_watch_events_total\{resource="pods"\}/ {print $2}'; }
start_cpu=$(cpu_ticks)
start_ns=$(cpu_ns)
start_events=$(events)
max_rss=0
max_anon=0
max_code=0
scrape_every=${SCRAPE_EVERY:-1}
keep_alive=${KEEP_ALIVE:-0}
accept=()
[ "${GZIP:-0}" = 1 ] && accept=(-H "Accept-Encoding: gzip")
if [ "$keep_alive" = 1 ]; then
  scrapes=$((seconds / scrape_every))
  # shellcheck disable=SC2046 # one URL per scrape
  curl -sf "${accept[@]}" --rate "$((3600 / scrape_every))/h" $(yes "127.0.0.1:$port/metrics" | head -n "$scrapes") >/dev/null &
  pids+=($!)
fi
for i in $(seq "$seconds"); do
  [ "$keep_alive" != 1 ] && [ $((i % scrape_every)) -eq 0 ] && curl -sf "${accept[@]}" 127.0.0.1:$port/metrics >/dev/null
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$agent/status")
  [ "$rss" -gt "$max_rss" ] && max_rss=$rss
  anon=$(awk '/^RssAnon/ {print $2}' "/proc/$agent/status")
  [ "$anon" -gt "$max_anon" ] && max_anon=$anon
  if [ -n "$emulator" ]; then
    # qemu keeps translated code in writable and executable anonymous mappings; the agent has none.
    code=$(awk '/^[0-9a-f]+-[0-9a-f]+ rwxp/ {x = 1; next} /^[0-9a-f]+-/ {x = 0} x && /^Rss:/ {s += $2} END {print s + 0}' \
      "/proc/$agent/smaps")
    [ "$code" -gt "$max_code" ] && max_code=$code
  fi
  sleep 1
done
end_cpu=$(cpu_ticks)
end_ns=$(cpu_ns)
pods=$(curl -sf 127.0.0.1:$port/metrics | awk '/^kube_binpacking_node_allocated\{.*resource="pods"/ {print $2}')
end_events=$(events)
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$agent/status")
echo "counted pods: $pods, pod watch events applied: $((end_events - start_events)) over ${seconds}s"
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo "agent max RSS: $(mib "$max_rss") MiB, peak (VmHWM, start-up included): $(mib "$hwm") MiB"
# The rest of RSS is file-backed: the binary's and shared libraries' pages in use.
echo "  of which anonymous (heap, stacks), at most: $(mib "$max_anon") MiB"
if [ -n "$heaptrack_out" ]; then
  kill "$agent"
  while kill -0 "$agent" 2>/dev/null; do sleep 0.2; done
  sleep 2  # heaptrack finishes its file after the agent exits
  heaptrack_print -f "$heaptrack_out.zst" 2>/dev/null | sed -n '/^PEAK MEMORY CONSUMERS/,/^$/p;/^peak heap memory/p;/^total memory leaked/p' |
    head -40
  exit 0
fi
if [ -n "$emulator" ]; then
  echo "  of which qemu's translated code, at most: $(mib "$max_code") MiB (under $emulator)"
  echo "agent CPU: not reported under emulation"
  exit 0
fi
awk -v t="$((end_cpu - start_cpu))" -v hz="$ticks" -v s="$seconds" \
  'BEGIN { printf "agent CPU: %.3f s over %d s (%.2f%% of one core)\n", t / hz, s, 100 * t / hz / s }'
awk -v n="$((end_ns - start_ns))" -v s="$seconds" \
  'BEGIN { printf "  by the scheduler clock: %.4f s (%.3f%% of one core)\n", n / 1e9, 100 * n / 1e9 / s }'
