#!/usr/bin/env bash
# Whole-process cost of one agent on a full node: nodepack-sim serves one node with 110 pods and
# churns them; the agent follows; we scrape /metrics once a second and report the agent's RSS
# and CPU time. Usage: bench/agent_process.sh [BUILD_DIR] [SECONDS]
#
# For a cross-built agent: EMULATOR=qemu-aarch64-static SIM_BUILD=build bench/agent_process.sh
# build-arm64 runs the agent under qemu-user and the simulator natively from SIM_BUILD. Its RSS is
# then the qemu process's (the agent's memory plus qemu's own, whose translated-code buffer is
# printed apart), and no CPU time is reported: it would be the cost of translation, not of arm64.
# AGENT_ARGS adds agent flags (e.g. to turn collectors off for a like-for-like native run).
set -euo pipefail
build=${1:-build}
seconds=${2:-60}
sim_build=${SIM_BUILD:-$build}
emulator=${EMULATOR:-}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

"$sim_build/sim/nodepack-sim" --nodes 1 --pods-per-node 110 --churn-interval 1s --seed 7 \
  --kubeconfig-out "$work/kubeconfig" >"$work/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/kubeconfig" ] && break; sleep 0.1; done
# shellcheck disable=SC2086 # EMULATOR and AGENT_ARGS are word lists
$emulator "$build/cmd/nodepack" agent --kubeconfig "$work/kubeconfig" --node-name sim-node-0 --auth.mode=none \
  --metrics-addr 127.0.0.1:19101 --resources cpu,memory,pods,ephemeral-storage,nvidia.com/gpu,hugepages-2Mi \
  --log-level warn ${AGENT_ARGS:-} >"$work/agent.log" 2>&1 &
agent=$!
pids+=($agent)
# Emulated start-up is slower: wait up to 30 s.
for _ in $(seq 300); do curl -sf 127.0.0.1:19101/readyz >/dev/null && break; sleep 0.1; done

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$agent/stat"; }
start_cpu=$(cpu_ticks)
max_rss=0
max_code=0
for _ in $(seq "$seconds"); do
  curl -sf 127.0.0.1:19101/metrics >/dev/null
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$agent/status")
  [ "$rss" -gt "$max_rss" ] && max_rss=$rss
  if [ -n "$emulator" ]; then
    # qemu keeps translated code in writable and executable anonymous mappings; the agent has none.
    code=$(awk '/^[0-9a-f]+-[0-9a-f]+ rwxp/ {x = 1; next} /^[0-9a-f]+-/ {x = 0} x && /^Rss:/ {s += $2} END {print s + 0}' \
      "/proc/$agent/smaps")
    [ "$code" -gt "$max_code" ] && max_code=$code
  fi
  sleep 1
done
end_cpu=$(cpu_ticks)
pods=$(curl -sf 127.0.0.1:19101/metrics | awk '/^kube_binpacking_node_allocated\{.*resource="pods"/ {print $2}')
events=$(curl -sf 127.0.0.1:19101/metrics | awk '/^nodepack_watch_events_total\{resource="pods"\}/ {print $2}')
echo "counted pods: $pods, pod watch events applied: $events over ${seconds}s"
echo "agent max RSS: $((max_rss / 1024)) MiB"
if [ -n "$emulator" ]; then
  echo "  of which qemu's translated code, at most: $((max_code / 1024)) MiB (under $emulator)"
  echo "agent CPU: not reported under emulation"
  exit 0
fi
awk -v t="$((end_cpu - start_cpu))" -v hz="$ticks" -v s="$seconds" \
  'BEGIN { printf "agent CPU: %.3f s over %d s (%.2f%% of one core)\n", t / hz, s, 100 * t / hz / s }'
