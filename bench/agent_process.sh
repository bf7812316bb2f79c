#!/usr/bin/env bash
# Whole-process cost of one agent on a full node: nodepack-sim serves one node with 110 pods and
# churns them; the agent follows; we scrape /metrics once a second and report the agent's RSS
# and CPU time. Usage: bench/agent_process.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
build=${1:-build}
seconds=${2:-60}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

"$build/sim/nodepack-sim" --nodes 1 --pods-per-node 110 --churn-interval 1s --seed 7 \
  --kubeconfig-out "$work/kubeconfig" >"$work/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/kubeconfig" ] && break; sleep 0.1; done
"$build/cmd/nodepack" agent --kubeconfig "$work/kubeconfig" --node-name sim-node-0 --auth.mode=none \
  --metrics-addr 127.0.0.1:19101 --resources cpu,memory,pods,ephemeral-storage,nvidia.com/gpu,hugepages-2Mi \
  --log-level warn >"$work/agent.log" 2>&1 &
agent=$!
pids+=($agent)
for _ in $(seq 100); do curl -sf 127.0.0.1:19101/readyz >/dev/null && break; sleep 0.1; done

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$agent/stat"; }
start_cpu=$(cpu_ticks)
max_rss=0
for _ in $(seq "$seconds"); do
  curl -sf 127.0.0.1:19101/metrics >/dev/null
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$agent/status")
  [ "$rss" -gt "$max_rss" ] && max_rss=$rss
  sleep 1
done
end_cpu=$(cpu_ticks)
pods=$(curl -sf 127.0.0.1:19101/metrics | awk '/^kube_binpacking_node_allocated\{.*resource="pods"/ {print $2}')
events=$(curl -sf 127.0.0.1:19101/metrics | awk '/^nodepack_watch_events_total\{resource="pods"\}/ {print $2}')
echo "counted pods: $pods, pod watch events applied: $events over ${seconds}s"
echo "agent max RSS: $((max_rss / 1024)) MiB"
awk -v t="$((end_cpu - start_cpu))" -v hz="$ticks" -v s="$seconds" \
  'BEGIN { printf "agent CPU: %.3f s over %d s (%.2f%% of one core)\n", t / hz, s, 100 * t / hz / s }'
