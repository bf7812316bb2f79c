#!/usr/bin/env bash
# Runs test_billing's [prometheus] cases against a real Prometheus, or VictoriaMetrics, loaded with
# usage_fixture.py's data. Skips loudly (exit 77) without the store unless
# NODEPACK_REQUIRE_PROMETHEUS=1.
#
#   billing_prometheus_test.sh TEST_BILLING_BINARY [prometheus|victoriametrics]
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 TEST_BILLING_BINARY [prometheus|victoriametrics]" >&2
  exit 2
fi
binary=$(realpath "$1")
store=${2:-prometheus}
case $store in
  prometheus) start=start_prometheus.sh ;;
  victoriametrics) start=start_victoria_metrics.sh ;;
  *)
    echo "billing_prometheus_test: unknown store $store" >&2
    exit 2
    ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/nodepack-billing.XXXXXX")
cleanup() {
  local rc=$?
  for pidfile in "$work"/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    for log in "$work"/prometheus.log "$work"/victoria-metrics.log; do
      [ -f "$log" ] || continue
      echo "---- $(basename "$log") (last lines) ----"
      tail -n 20 "$log"
    done
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

if ! command -v python3 >/dev/null; then
  echo "billing_prometheus_test: python3 not found" >&2
  exit 1
fi
python3 "$here/usage_fixture.py" "$work/usage.om"
rc=0
url=$("$here/../prometheus/$start" "$work/usage.om" "$work") || rc=$?
if [ $rc -ne 0 ]; then
  exit $rc  # 77: skipped, already said loudly
fi
echo "$store: $url"
NODEPACK_TEST_PROMETHEUS_URL=$url NODEPACK_TEST_PROMETHEUS_STORE=$store "$binary" "[prometheus]"
