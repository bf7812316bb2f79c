#!/usr/bin/env bash
# Runs test_billing's [prometheus] cases against a real Prometheus loaded with usage_fixture.py's
# data. Skips loudly (exit 77) without prometheus/promtool unless NODEPACK_REQUIRE_PROMETHEUS=1.
#
#   billing_prometheus_test.sh TEST_BILLING_BINARY
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 TEST_BILLING_BINARY" >&2
  exit 2
fi
binary=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/nodepack-billing.XXXXXX")
cleanup() {
  local rc=$?
  if [ -f "$work/prometheus.pid" ]; then
    pid=$(cat "$work/prometheus.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -f "$work/prometheus.log" ]; then
    echo "---- prometheus.log (last lines) ----"
    tail -n 20 "$work/prometheus.log"
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
url=$("$here/../prometheus/start_prometheus.sh" "$work/usage.om" "$work") || rc=$?
if [ $rc -ne 0 ]; then
  exit $rc  # 77: skipped, already said loudly
fi
echo "prometheus: $url"
NODEPACK_TEST_PROMETHEUS_URL=$url "$binary" "[prometheus]"
