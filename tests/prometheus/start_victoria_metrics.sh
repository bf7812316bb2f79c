#!/usr/bin/env bash
# Starts a single-node VictoriaMetrics over the same OpenMetrics file start_prometheus.sh loads, so
# the tests that query a Prometheus can run unchanged against a long-term store that speaks the
# Prometheus query API.
#
#   start_victoria_metrics.sh OPENMETRICS_FILE WORK_DIR
#
# Imports the samples through /api/v1/import/prometheus (the text format, timestamps in ms),
# flushes, waits (bounded) until a query sees them, prints the URL (http://127.0.0.1:PORT) and
# exits; VictoriaMetrics keeps running, its pid in WORK_DIR/victoria-metrics.pid and its log in
# WORK_DIR/victoria-metrics.log.
#
# Exit status 77 (the CTest skip code) when victoria-metrics is missing, after saying so loudly,
# unless NODEPACK_REQUIRE_PROMETHEUS=1 (which covers every Prometheus-API store), which makes it 1.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 OPENMETRICS_FILE WORK_DIR" >&2
  exit 2
fi
input=$1
work=$2

for tool in victoria-metrics python3 curl; do
  if ! command -v "$tool" >/dev/null; then
    {
      echo "######################################################################################"
      echo "## SKIPPED: $tool not found (Debian package victoria-metrics; scripts/install-deps)."
      echo "## Nothing was tested against VictoriaMetrics."
      echo "######################################################################################"
    } >&2
    if [ "${NODEPACK_REQUIRE_PROMETHEUS:-0}" = 1 ]; then
      echo "start_victoria_metrics: NODEPACK_REQUIRE_PROMETHEUS=1, so this is a failure" >&2
      exit 1
    fi
    exit 77
  fi
done

# OpenMetrics timestamps are seconds; the Prometheus text format's are milliseconds.
python3 - "$input" "$work/import.prom" <<'PYEOF'
import sys
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as out:
    for line in src:
        if line.startswith("#") or not line.strip():
            continue
        head, seconds = line.rsplit(" ", 1)
        out.write(f"{head} {int(seconds) * 1000}\n")
PYEOF

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Retention far beyond any fixture's age: older samples would be dropped on import. The response
# cache is off so a query right after the import sees every sample.
victoria-metrics -storageDataPath="$work/vmdata" -retentionPeriod=100y -httpListenAddr="127.0.0.1:$port" \
  -search.disableCache -loggerLevel=WARN >"$work/victoria-metrics.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$work/victoria-metrics.pid"
url="http://127.0.0.1:$port"

# shellcheck source=wait_for_server.sh
. "$(dirname "$0")/wait_for_server.sh"
wait_for() {  # DESCRIPTION COMMAND...
  wait_for_server VictoriaMetrics "$pid" "$work/victoria-metrics.log" "$@"
}
wait_for "ready on port $port" curl -sf "$url/health"
if ! curl -sf --data-binary @"$work/import.prom" "$url/api/v1/import/prometheus"; then
  echo "start_victoria_metrics: the import was refused; its log:" >&2
  cat "$work/victoria-metrics.log" >&2
  kill "$pid" 2>/dev/null || true
  exit 1
fi
curl -sf "$url/internal/force_flush" >/dev/null
want=$(wc -l <"$work/import.prom")
# Every imported sample must be searchable before a test asks.
seen() {
  curl -sf "$url/api/v1/series/count" >/dev/null &&
    [ "$(curl -sf "$url/api/v1/export" -d 'match[]={__name__!=""}' | python3 -c '
import json, sys
print(sum(len(json.loads(line)["values"]) for line in sys.stdin if line.strip()))')" = "$want" ]
}
wait_for "all $want samples searchable" seen
echo "$url"
