#!/bin/sh
# Whole-process scale run of the aggregator: the report farm plays NODES agents (PODS pods each)
# and their API server; the aggregator discovers the agents through the API (pods with podIP
# 127.1.x.y) and pulls every report each --pull-interval. Prints time to ready, pull round
# duration, snapshot build time, scrape times (plain, gzip, cached), /api/snapshot time and RSS.
#
# Usage: bench/aggregator_scale.sh BUILD_DIR [NODES] [PODS_PER_NODE]
#   AGGREGATOR_CMD  the aggregator command line (default: BUILD_DIR/cmd/nodepack aggregator)
#   ROUNDS          pull rounds to wait for before measuring (default 4)
#   NODE_SOURCE     --node-source of the aggregator (default agents); api also makes the farm serve
#                   every node's pods, which the aggregator then watches instead of pulling reports
#   CHANGE_EVERY    seconds between changes of a node's report (default 0: every pull gets a new
#                   report; with N, unchanged reports are answered 304 as agents do)
#   PULL_INTERVAL   --pull-interval (default 5s)
#   GO_PEER=1       also serves the aggregator's series from a client_golang exporter
#                   (bench/go_exporter: a Collector emitting each as a const metric every scrape) and
#                   scrapes both alternately; needs Debian's golang-go and
#                   golang-github-prometheus-client-golang-dev
# Needs curl. Results go in bench/README.md.
set -eu
build=$1
nodes=${2:-5000}
pods=${3:-30}
rounds=${ROUNDS:-4}
node_source=${NODE_SOURCE:-agents}
change_every=${CHANGE_EVERY:-0}
pull_interval=${PULL_INTERVAL:-5s}
bound_pods=false
[ "$node_source" = api ] && bound_pods=true
aggregator_cmd=${AGGREGATOR_CMD:-"$build/cmd/nodepack aggregator"}
farm=
for candidate in "$build/sim/nodepack-report-farm" "$build/aggregator/nodepack-report-farm"; do
  [ -x "$candidate" ] && farm=$candidate && break
done
[ -n "$farm" ] || { echo "no nodepack-report-farm under $build" >&2; exit 1; }

work=$(mktemp -d)
farm_pid=
aggregator_pid=
go_pid=
cleanup() {
  for pid in $go_pid $aggregator_pid $farm_pid; do
    pkill -TERM -P "$pid" 2>/dev/null || true  # AGGREGATOR_CMD may be a wrapper (heaptrack, perf)
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

wait_for() {  # wait_for SECONDS COMMAND...: retry COMMAND every 0.1 s
  limit=$1
  shift
  end=$(($(date +%s) + limit))
  until "$@"; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.1
  done
}
metric() {  # metric NAME: value of an unlabelled or exactly named series
  # Compressed, as Prometheus scrapes: the plain exposition of a large cluster is tens of MB, and
  # polling it would load the aggregator being measured.
  curl -s --compressed "http://127.0.0.1:$port/metrics" | awk -v name="$1" '$1 == name { print $2 }'
}
now() { date +%s.%N; }
cpu_seconds() {  # cpu_seconds PID: user + system time of the process so far
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

"$farm" --nodes "$nodes" --pods-per-node "$pods" --pending-pods 200 --kubeconfig-out "$work/kubeconfig" \
  --bound-pods "$bound_pods" --change-every "$change_every" \
  > "$work/farm.out" 2> "$work/farm.err" &
farm_pid=$!
wait_for 120 grep -q '^api=' "$work/farm.out" || { cat "$work/farm.err" >&2; exit 1; }
echo "farm: $(cat "$work/farm.out") ($nodes nodes, $((nodes * pods)) pods)"

start=$(now)
# shellcheck disable=SC2086  # AGGREGATOR_CMD is a command line on purpose
$aggregator_cmd --kubeconfig "$work/kubeconfig" --metrics-addr 127.0.0.1:0 --log-format text \
  --pull-interval "$pull_interval" --resources cpu,memory,pods --node-source "$node_source" \
  --label-group topology.kubernetes.io/zone \
  --label-group topology.kubernetes.io/zone,node.kubernetes.io/instance-type \
  --label-group nodepack.dev/pool \
  --fit-shape small=cpu:500m,memory:1Gi --fit-shape large=cpu:4,memory:16Gi \
  > "$work/aggregator.log" 2>&1 &
aggregator_pid=$!
wait_for 60 grep -q 'serving on' "$work/aggregator.log" || { cat "$work/aggregator.log" >&2; exit 1; }
port=$(sed -n 's/.*serving on [0-9.]*:\([0-9]*\).*/\1/p' "$work/aggregator.log" | head -1)
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ]; }
wait_for 300 ready || { tail -20 "$work/aggregator.log" >&2; exit 1; }
ready_at=$(now)
echo "ready after $(awk -v a="$start" -v b="$ready_at" 'BEGIN { printf "%.2f", b - a }') s (lists, discovery and the first pull round)"

rounds_at_ready=$(metric nodepack_aggregator_pull_rounds_total)
aggregator_cpu_at_ready=$(cpu_seconds "$aggregator_pid")
farm_cpu_at_ready=$(cpu_seconds "$farm_pid")
rounds_done() { sleep 0.9; [ "$(metric nodepack_aggregator_pull_rounds_total)" -ge "$rounds" ] 2>/dev/null; }
wait_for 300 rounds_done || { echo "fewer than $rounds pull rounds" >&2; exit 1; }
echo "fresh nodes: $(metric 'nodepack_aggregator_nodes{state="fresh"}') of $(metric kube_binpacking_cluster_node_count)"
echo "pull round: last $(metric nodepack_aggregator_last_pull_round_duration_seconds) s," \
  "mean $(awk -v s="$(metric nodepack_aggregator_pull_round_duration_seconds_sum)" \
    -v c="$(metric nodepack_aggregator_pull_round_duration_seconds_count)" 'BEGIN { printf "%.3f", s / c }') s" \
  "over $(metric nodepack_aggregator_pull_rounds_total) rounds;" \
  "agent connections kept: $(metric nodepack_aggregator_agent_connections)"
rounds_measured=$(($(metric nodepack_aggregator_pull_rounds_total) - rounds_at_ready))
echo "CPU per pull round (over the $rounds_measured rounds after the first):" \
  "aggregator $(awk -v a="$aggregator_cpu_at_ready" -v b="$(cpu_seconds "$aggregator_pid")" -v n="$rounds_measured" \
    'BEGIN { printf "%.2f", (b - a) / n }') s," \
  "farm $(awk -v a="$farm_cpu_at_ready" -v b="$(cpu_seconds "$farm_pid")" -v n="$rounds_measured" \
    'BEGIN { printf "%.2f", (b - a) / n }') s (one thread plays every agent: it paces the round here)"
echo "pulls answered 304 (unchanged): $(metric nodepack_aggregator_pulls_unchanged_total) of $(metric nodepack_aggregator_pulls_total)"
echo "snapshot build: $(metric nodepack_aggregator_snapshot_build_duration_seconds) s"
for i in 1 2 3 4 5; do
  curl -s -o /dev/null -w "scrape /metrics: %{time_total} s, %{size_download} bytes\n" "http://127.0.0.1:$port/metrics"
done
for i in 1 2 3; do
  curl -s -o /dev/null -H 'Accept-Encoding: gzip' \
    -w "scrape /metrics gzip: %{time_total} s, %{size_download} bytes\n" "http://127.0.0.1:$port/metrics"
done
# What a scraper once a pull interval meets nearly every time: a snapshot nobody has scraped yet.
# (PULL_INTERVAL in seconds, e.g. 15s.)
for _ in 1 2; do
  sleep "${pull_interval%s}"
  curl -s -o /dev/null -H 'Accept-Encoding: gzip' \
    -w "scrape /metrics gzip, first after a pull round: %{time_total} s, %{size_download} bytes\n" \
    "http://127.0.0.1:$port/metrics"
done
for i in 1 2 3; do
  curl -s -o /dev/null -w "/api/snapshot: %{time_total} s, %{size_download} bytes\n" "http://127.0.0.1:$port/api/snapshot"
done
echo "aggregator memory: $(grep -E 'VmRSS|VmHWM' "/proc/$aggregator_pid/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
echo "process_resident_memory_bytes: $(metric process_resident_memory_bytes)"

if [ "${GO_PEER:-0}" = 1 ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  (cd "$here/bench/go_exporter" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$work/go-cache" \
    go build -o "$work/go_exporter" .) || { echo "go build failed (see above)" >&2; exit 1; }
  curl -s "http://127.0.0.1:$port/metrics" > "$work/exposition.txt"
  "$work/go_exporter" -input "$work/exposition.txt" > "$work/go.out" 2> "$work/go.err" &
  go_pid=$!
  wait_for 120 grep -q '^port=' "$work/go.out" || { cat "$work/go.err" >&2; exit 1; }
  go_port=$(sed -n 's/^port=\([0-9]*\).*/\1/p' "$work/go.out")
  echo "Go peer: $(cat "$work/go.out") (the aggregator's series less its go_ and process_ ones)"
  # Alternately, five each: wall time of the scrape and the server's CPU for it.
  for _ in 1 2 3 4 5; do
    for who in aggregator go; do
      if [ "$who" = go ]; then p=$go_port; pid=$go_pid; else p=$port; pid=$aggregator_pid; fi
      before=$(cpu_seconds "$pid")
      line=$(curl -s -o /dev/null -w "%{time_total} s, %{size_download} bytes" "http://127.0.0.1:$p/metrics")
      echo "side by side, $who: $line, CPU $(awk -v a="$before" -v b="$(cpu_seconds "$pid")" 'BEGIN { printf "%.2f", b - a }') s"
    done
  done
  for who in aggregator go; do
    if [ "$who" = go ]; then p=$go_port; else p=$port; fi
    curl -s -o /dev/null -H 'Accept-Encoding: gzip' \
      -w "side by side, $who gzip: %{time_total} s, %{size_download} bytes\n" "http://127.0.0.1:$p/metrics"
  done
  echo "Go peer memory: $(grep -E 'VmRSS|VmHWM' "/proc/$go_pid/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
fi
