#!/usr/bin/env bash
# Starts a real Prometheus over TSDB blocks built from an OpenMetrics file, for tests that need
# known data at known (past) times.
#
#   start_prometheus.sh OPENMETRICS_FILE WORK_DIR
#
# Builds the blocks with `promtool tsdb create-blocks-from openmetrics` into WORK_DIR/data, starts
# Prometheus on 127.0.0.1 on a free port with a retention long enough to keep them, waits (bounded)
# until it is ready, prints its URL (http://127.0.0.1:PORT) on stdout and exits; Prometheus keeps
# running. Its pid is in WORK_DIR/prometheus.pid (stop it with `kill "$(cat WORK_DIR/prometheus.pid)"`)
# and its log in WORK_DIR/prometheus.log.
#
# Exit status 77 (the CTest skip code) when prometheus or promtool is missing, after saying so
# loudly on stderr, unless NODEPACK_REQUIRE_PROMETHEUS=1, which makes that a failure (1).
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 OPENMETRICS_FILE WORK_DIR" >&2
  exit 2
fi
input=$1
work=$2

for tool in prometheus promtool python3 curl; do
  if ! command -v "$tool" >/dev/null; then
    {
      echo "######################################################################################"
      echo "## SKIPPED: $tool not found (Debian package prometheus; scripts/install-deps)."
      echo "## Nothing that needs a real Prometheus was tested."
      echo "######################################################################################"
    } >&2
    if [ "${NODEPACK_REQUIRE_PROMETHEUS:-0}" = 1 ]; then
      echo "start_prometheus: NODEPACK_REQUIRE_PROMETHEUS=1, so this is a failure" >&2
      exit 1
    fi
    exit 77
  fi
done

mkdir -p "$work/data"
promtool tsdb create-blocks-from openmetrics "$input" "$work/data" >"$work/promtool.log" 2>&1 || {
  echo "start_prometheus: promtool could not build blocks from $input:" >&2
  cat "$work/promtool.log" >&2
  exit 1
}
echo "global: {scrape_interval: 1m}" >"$work/prometheus.yml"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Retention far beyond any fixture's age: blocks older than retention would be deleted at start.
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" --log.level=warn \
  >"$work/prometheus.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$work/prometheus.pid"

# shellcheck source=wait_for_server.sh
. "$(dirname "$0")/wait_for_server.sh"
wait_for_server Prometheus "$pid" "$work/prometheus.log" "ready on port $port" curl -sf "http://127.0.0.1:$port/-/ready"
echo "http://127.0.0.1:$port"
