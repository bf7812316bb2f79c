#!/usr/bin/env bash
# The agent's memory with and without the peer directory (kube/peers, agent/peer_watch) on a
# large simulated cluster: nodepack-sim serves NODES nodes of PODS pods (with their Services and
# EndpointSlices); one agent for sim-node-0 runs twice with the same kernel collectors (standard,
# irq, proc, syscall), once alone and once with the topology collector, which turns the
# directory on (it watches every pod, Service and EndpointSlice). Prints each run's RSS once
# settled and its peak (VmHWM), and the directory's counts from /sync.
# Usage: bench/peer_directory.sh [BUILD_DIR] [NODES] [PODS_PER_NODE]   (root: BPF collectors load)
# COMPARE_BUILD=DIR runs the "with the directory" agent once more from DIR (an earlier build)
# against the same simulator, for a before/after without generating the cluster twice.
# AGENT_PORT sets the agent's metrics port (default 19111). SIM_ARGS adds simulator flags, e.g.
# --node-allocatable cpu=192,memory=768Gi,pods=40 so that every pod requested fits and runs (the
# simulator schedules only what fits: with its generated nodes about 63,000 of 150,000 run).
set -euo pipefail
build=${1:-build}
nodes=${2:-5000}
pods=${3:-30}
port=${AGENT_PORT:-19111}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

start=$(date +%s)
# shellcheck disable=SC2086 # SIM_ARGS is a word list
"$build/sim/nodepack-sim" --nodes "$nodes" --pods-per-node "$pods" --seed 7 --listen 127.0.0.1:0 \
  --kubeconfig-out "$work/kubeconfig" ${SIM_ARGS:-} >"$work/sim.log" 2>&1 &
pids+=($!)
# Generating 150,000 pods with their Services takes the simulator minutes: wait up to 15.
for _ in $(seq 9000); do [ -s "$work/kubeconfig" ] && break; sleep 0.1; done
[ -s "$work/kubeconfig" ] || { echo "nodepack-sim did not start:"; tail -5 "$work/sim.log"; exit 1; }
echo "simulator: $nodes nodes, $((nodes * pods)) pods requested, up after $(($(date +%s) - start)) s"

run() {  # run LABEL AGENT_FLAGS...   (AGENT_BUILD=DIR: that build's agent)
  local label=$1
  shift
  "${AGENT_BUILD:-$build}/cmd/nodepack" agent --kubeconfig "$work/kubeconfig" --node-name sim-node-0 --auth.mode=none \
    --metrics-addr 127.0.0.1:$port --log-level warn "$@" >"$work/agent.log" 2>&1 &
  local agent=$!
  local t0
  t0=$(date +%s.%N)
  # A simulator loading 150,000 pods answers slowly for minutes: wait up to 15 min.
  for _ in $(seq 9000); do curl -sf 127.0.0.1:$port/readyz >/dev/null && break; sleep 0.1; done
  # Settled: the peer watches (when there are any) have listed.
  for _ in $(seq 9000); do
    curl -sf 127.0.0.1:$port/sync | python3 -c '
import json, sys
try:
    s = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
sys.exit(0 if all(w["synced"] for w in s.get("peers", {}).get("watches", [])) else 1)' 2>/dev/null && break
    sleep 0.1
  done
  local t1
  t1=$(date +%s.%N)
  sleep 5
  for _ in 1 2 3; do curl -sf 127.0.0.1:$port/metrics >/dev/null; done
  local rss hwm
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$agent/status")
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$agent/status")
  printf '%s: synced in %.1f s, RSS %d MiB, peak %d MiB\n' "$label" "$(echo "$t1 - $t0" | bc)" $((rss / 1024)) $((hwm / 1024))
  curl -sf 127.0.0.1:$port/sync | python3 -c '
import json, sys
p = json.load(sys.stdin).get("peers")
if p: print("  directory:", {k: v for k, v in p.items() if k != "watches"})'
  kill "$agent"
  wait "$agent" 2>/dev/null || true
}

collectors=(--profile=standard --collector.irq=true --collector.proc=true --collector.syscall=true)
run "without the directory (standard + irq, proc, syscall)" "${collectors[@]}"
# The topology collector alone turns the directory on: the only difference from the run above.
run "with the directory (the same + topology)" "${collectors[@]}" --collector.topology=true
if [ -n "${COMPARE_BUILD:-}" ]; then
  AGENT_BUILD=$COMPARE_BUILD run "with the directory, $COMPARE_BUILD's agent" "${collectors[@]}" --collector.topology=true
fi
