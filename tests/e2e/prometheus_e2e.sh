#!/usr/bin/env bash
# End-to-end: a simulated cluster, one real agent per simulated node, the aggregator when this
# build has it, and a real Prometheus scraping them with deploy/rules loaded. prom_check.py then
# compares what Prometheus stored with what the simulator generated, evaluates every rule and
# dashboard query, and lints every /metrics with `promtool check metrics`. A VictoriaMetrics
# scraping the same targets, with vmalert evaluating the same rules, must give the same binpacking
# values and answer the same dashboard queries: the long-term store of deploy/README.md, proved on
# the same data.
#
#   tests/e2e/prometheus_e2e.sh NODEPACK_BINARY NODEPACK_SIM_BINARY
#
# Everything listens on 127.0.0.1 (ports chosen by the kernel or found free), every wait is
# bounded, every process started here is stopped on exit, and the run takes well under 2 minutes.
# Needs prometheus and promtool (Debian package prometheus), victoria-metrics, curl, python3 with
# PyYAML, tar and bzip2. Set NODEPACK_E2E_KEEP=1 to keep the work directory (logs, Prometheus data) for debugging.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 NODEPACK_BINARY NODEPACK_SIM_BINARY" >&2
  exit 2
fi
nodepack=$(realpath "$1")
sim=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
fixtures=${NODEPACK_FIXTURES:-$root/tests/fixtures}
nodes=${NODEPACK_E2E_NODES:-3}
pods_per_node=${NODEPACK_E2E_PODS_PER_NODE:-10}
hwloc_fixture=16amd64-8n2c

for tool in prometheus promtool victoria-metrics vmalert curl python3 tar bzip2; do
  command -v "$tool" >/dev/null || { echo "prometheus_e2e: $tool not found (scripts/install-deps installs it)" >&2; exit 1; }
done
[ -f "$fixtures/hwloc/$hwloc_fixture.tar.bz2" ] || { echo "prometheus_e2e: no fixtures at $fixtures" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/nodepack-e2e.XXXXXX")
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    # bounded: whatever has not exited after 5 s is killed
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ $rc -ne 0 ]; then
    echo "---- logs (last lines) ----"
    for f in "$work"/*.log; do [ -f "$f" ] && { echo "== $(basename "$f")"; tail -n 15 "$f"; }; done
  fi
  if [ "${NODEPACK_E2E_KEEP:-0}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s, fails after SECONDS.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "prometheus_e2e: timed out after ${seconds}s waiting for $what" >&2
      return 1
    fi
    sleep 0.1
  done
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- host fixtures: an 8-NUMA-node sysfs, and kubelet state with one good, one corrupt and one
# missing checkpoint file ------------------------------------------------------------------------
mkdir -p "$work/host"
tar -xjf "$fixtures/hwloc/$hwloc_fixture.tar.bz2" -C "$work/host"
host_root="$work/host/$hwloc_fixture"
kubelet="$work/kubelet"
mkdir -p "$kubelet/device-plugins"
cp "$fixtures/kubelet/cpu_manager_state.none.v2.json" "$kubelet/cpu_manager_state"
sed 's/"checksum":[0-9]*/"checksum":12345/' "$fixtures/kubelet/memory_manager_state.k8s-unittest.v1.json" \
  > "$kubelet/memory_manager_state"

# --- the simulated cluster -----------------------------------------------------------------------
# Who may read the agents, as RBAC would grant it: Prometheus /metrics, the aggregator (the
# kubeconfig's token) /report. The agents ask the simulated API server (TokenReview,
# SubjectAccessReview), as they ask the real one.
prom_token=e2e-prometheus-token
cat >"$work/access.json" <<EOF
{"identities": [{"token": "nodepack-sim", "user": "system:serviceaccount:nodepack:nodepack-aggregator"},
                {"token": "$prom_token", "user": "system:serviceaccount:monitoring:prometheus"}],
 "rules": [{"user": "system:serviceaccount:nodepack:nodepack-aggregator", "verbs": ["get"], "nonResourceURLs": ["/report"]},
           {"user": "system:serviceaccount:monitoring:prometheus", "verbs": ["get"], "nonResourceURLs": ["/metrics"]}]}
EOF
"$sim" --listen 127.0.0.1:0 --nodes "$nodes" --pods-per-node "$pods_per_node" --churn-interval 0 --seed 20251125 \
  --access-policy "$work/access.json" --kubeconfig-out "$work/kubeconfig" >"$work/sim.log" 2>&1 &
pids+=($!)
wait_for 10 "nodepack-sim's kubeconfig" test -s "$work/kubeconfig"
sim_url=$(sed -n 's/^ *server: *//p' "$work/kubeconfig")
wait_for 10 "nodepack-sim at $sim_url" curl -sf "$sim_url/api/v1/nodes"
echo "nodepack-sim: $sim_url ($nodes nodes, $pods_per_node pods per node, no churn)"

# --- one agent per simulated node ----------------------------------------------------------------
resources=cpu,memory,pods,nvidia.com/gpu
agent_args=(--kubeconfig "$work/kubeconfig" --log-format text --resources "$resources"
            --host-root "$host_root" --kubelet-root "$kubelet")
# Extra agent flags, e.g. NODEPACK_E2E_AGENT_ARGS=--collectors.bpf=false where BPF cannot load.
read -r -a extra <<<"${NODEPACK_E2E_AGENT_ARGS:-}"
agent_args+=("${extra[@]}")
agents=()
for i in $(seq 0 $((nodes - 1))); do
  "$nodepack" agent --node-name "sim-node-$i" --metrics-addr 127.0.0.1:0 "${agent_args[@]}" \
    >"$work/agent-$i.log" 2>&1 &
  pids+=($!)
done
for i in $(seq 0 $((nodes - 1))); do
  wait_for 20 "agent sim-node-$i to listen" grep -q "serving on 127.0.0.1:[0-9]" "$work/agent-$i.log"
  addr=$(grep -o "serving on 127.0.0.1:[0-9]*" "$work/agent-$i.log" | head -n1 | sed 's/serving on //')
  wait_for 20 "agent sim-node-$i to be ready" curl -sf "http://$addr/readyz"
  agents+=("$addr")
done
echo "agents: ${agents[*]}"

# --- the aggregator, where this build has it -----------------------------------------------------
aggregator=""
if "$nodepack" aggregator --help >/dev/null 2>&1; then
  port=$(free_port)
  "$nodepack" aggregator --kubeconfig "$work/kubeconfig" --metrics-addr "127.0.0.1:$port" --log-format text \
    --resources "$resources" \
    --agents "$(IFS=,; echo "${agents[*]}")" --pull-interval 1s \
    --label-group topology.kubernetes.io/zone \
    --label-group topology.kubernetes.io/zone,node.kubernetes.io/instance-type \
    --fit-shape small=cpu:500m,memory:1Gi \
    >"$work/aggregator.log" 2>&1 &
  pids+=($!)
  aggregator="127.0.0.1:$port"
  wait_for 20 "the aggregator to be ready" curl -sf "http://$aggregator/readyz"
  echo "aggregator: $aggregator"
else
  echo "######################################################################################"
  echo "## SKIPPED: 'nodepack aggregator' does not exist in this build, so the cluster and    ##"
  echo "## group metrics, nodepack_aggregator_* and the queries on them are NOT tested here.  ##"
  echo "######################################################################################"
fi

# --- Prometheus ----------------------------------------------------------------------------------
prom_port=$(free_port)
python3 - "$root/deploy/rules/nodepack.rules.yml" "$work/rules.yml" <<'EOF'
import sys, yaml
# The same rules, evaluated every second instead of every minute so a short run sees them.
rules = yaml.safe_load(open(sys.argv[1]))
for g in rules["groups"]:
    g["interval"] = "1s"
yaml.safe_dump(rules, open(sys.argv[2], "w"), sort_keys=False)
EOF
{
  echo "global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}"
  echo "rule_files: ['$work/rules.yml']"
  echo "scrape_configs:"
  echo "  - job_name: nodepack-agent"
  echo "    honor_labels: true"
  echo "    authorization: {credentials: '$prom_token'}"
  echo "    static_configs: [{targets: [$(printf "'%s'," "${agents[@]}" | sed 's/,$//')]}]"
  if [ -n "$aggregator" ]; then
    echo "  - job_name: nodepack-aggregator"
    echo "    honor_labels: true"
    echo "    static_configs: [{targets: ['$aggregator']}]"
  fi
} >"$work/prometheus.yml"
promtool check config "$work/prometheus.yml" >/dev/null
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus-data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
wait_for 30 "Prometheus to be ready" curl -sf "http://127.0.0.1:$prom_port/-/ready"
echo "prometheus: 127.0.0.1:$prom_port"

# --- VictoriaMetrics, scraping the same targets --------------------------------------------------
vm_port=$(free_port)
grep -v '^rule_files:' "$work/prometheus.yml" | sed 's/, evaluation_interval: 1s//' >"$work/vm-scrape.yml"
# Samples younger than latencyOffset are hidden from queries (the default, 30 s, is most of this
# test; 2 s covers the rows not yet flushed), and an instant query looks back only a few scrape
# intervals by default, which would end before the hidden part does: 15 s covers both.
victoria-metrics -promscrape.config="$work/vm-scrape.yml" -storageDataPath="$work/vm-data" \
  -httpListenAddr="127.0.0.1:$vm_port" -search.latencyOffset=2s \
  -search.maxStalenessInterval=15s -search.disableCache -loggerLevel=WARN \
  >"$work/victoria-metrics.log" 2>&1 &
pids+=($!)
wait_for 30 "VictoriaMetrics to be ready" curl -sf "http://127.0.0.1:$vm_port/health"
# No query may name a metric before its first samples are searchable: VictoriaMetrics (1.79)
# caches which series a selector matches, and an empty answer stays cached after the series
# arrive. So vmalert, whose rules name them all, starts once every target's series are in.
vm_targets=${#agents[@]}
[ -z "$aggregator" ] || vm_targets=$((vm_targets + 1))
vm_has_every_target() {
  curl -sf "http://127.0.0.1:$vm_port/api/v1/query" \
    --data-urlencode 'query=count(count by (instance) ({__name__=~".+", job=~"nodepack-.*"}))' |
    python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; sys.exit(not (r and int(r[0]["value"][1]) == int(sys.argv[1])))' "$vm_targets"
}
wait_for 60 "VictoriaMetrics to hold every target's series" vm_has_every_target
# The same rules, evaluated by vmalert and written back, as a long-term setup runs them.
vmalert_port=$(free_port)
vmalert -rule="$work/rules.yml" -datasource.url="http://127.0.0.1:$vm_port" \
  -remoteWrite.url="http://127.0.0.1:$vm_port" -remoteWrite.flushInterval=500ms -evaluationInterval=1s \
  -notifier.url=http://127.0.0.1:9 \
  -httpListenAddr="127.0.0.1:$vmalert_port" -loggerLevel=WARN >"$work/vmalert.log" 2>&1 &
pids+=($!)
wait_for 30 "vmalert to be ready" curl -sf "http://127.0.0.1:$vmalert_port/health"
echo "victoria-metrics: 127.0.0.1:$vm_port (rules: vmalert 127.0.0.1:$vmalert_port)"

# --- checks --------------------------------------------------------------------------------------
check_args=(--prometheus "http://127.0.0.1:$prom_port" --sim "$sim_url" --host-root "$host_root"
            --rules "$root/deploy/rules/nodepack.rules.yml" --dashboard "$root/deploy/grafana/nodepack.json"
            --resources "$resources")
for a in "${agents[@]}"; do check_args+=(--agent "$a"); done
check_args+=(--agent-token "$prom_token" --victoria-metrics "http://127.0.0.1:$vm_port")
[ -n "$aggregator" ] && check_args+=(--aggregator "$aggregator")
python3 "$here/prom_check.py" "${check_args[@]}"
