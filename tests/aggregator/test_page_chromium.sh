#!/bin/sh
# The aggregator's web page in headless Chromium: the page's script must fetch /api/snapshot and
# draw every node and the utilization numbers. Saves a screenshot next to the test binaries.
# Usage: test_page_chromium.sh PAGE_FIXTURE OUTPUT_DIR
# Skips (exit 77, loudly) without Chromium, unless NODEPACK_REQUIRE_BROWSER=1.
set -eu
fixture=$1
out=$2

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  if [ "${NODEPACK_REQUIRE_BROWSER:-0}" = 1 ]; then
    echo "FAIL: no chromium on PATH and NODEPACK_REQUIRE_BROWSER=1 (Debian: apt-get install chromium)" >&2
    exit 1
  fi
  echo "SKIPPED: no chromium on PATH, so the aggregator page was not tested in a browser" >&2
  echo "SKIPPED: install the Debian package 'chromium', or set NODEPACK_REQUIRE_BROWSER=1 to make this a failure" >&2
  exit 77
fi

work=$(mktemp -d)
fixture_pid=
cleanup() {
  if [ -n "$fixture_pid" ]; then
    kill "$fixture_pid" 2>/dev/null || true
    wait "$fixture_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Made before the fixture starts: the shell opens a background command's redirections in the
# child, so the loop below could read before the file exists (and `set -e` ends the test).
: > "$work/fixture.out"
"$fixture" > "$work/fixture.out" 2> "$work/fixture.err" &
fixture_pid=$!
port=
for _ in $(seq 1 400); do
  port=$(sed -n 's/^port=//p' "$work/fixture.out")
  [ -n "$port" ] && break
  if ! kill -0 "$fixture_pid" 2>/dev/null; then
    echo "FAIL: page fixture exited early:" >&2
    cat "$work/fixture.err" >&2
    exit 1
  fi
  sleep 0.05
done
if [ -z "$port" ]; then
  echo "FAIL: page fixture did not print its port" >&2
  cat "$work/fixture.err" >&2
  exit 1
fi
url="http://127.0.0.1:$port/"

run_browser() {
  profile=$(mktemp -d "$work/profile.XXXXXX")
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --window-size=1280,900 --virtual-time-budget=3000 "$@" "$url"
}

run_browser --dump-dom > "$work/dom.html" 2> "$work/browser.err" || {
  echo "FAIL: chromium --dump-dom failed:" >&2
  cat "$work/browser.err" >&2
  exit 1
}
run_browser --screenshot="$out/aggregator_page.png" > /dev/null 2>> "$work/browser.err" || {
  echo "FAIL: chromium --screenshot failed:" >&2
  cat "$work/browser.err" >&2
  exit 1
}

failed=0
expect() {
  if grep -qF -- "$1" "$work/dom.html"; then
    echo "ok: $2"
  else
    echo "FAIL: $2: '$1' not in the rendered page" >&2
    failed=1
  fi
}
for node in n1 n2 n3 n4; do
  expect "data-node=\"$node\"" "node $node has a row"
done
# Cluster cpu 10.5 of 15.92 cores, memory 16Gi of 63Gi (see page_fixture.cpp).
expect '<div class="big" id="cluster-cpu">66.0%</div>' "cluster cpu utilization"
expect '<div class="big" id="cluster-memory">25.4%</div>' "cluster memory utilization"
expect '10.50 cores of 15.92 cores' "cluster cpu amounts"
expect '87.5%' "node n2 cpu utilization (7 of 8)"
expect '79.2%' "zone-a cpu utilization (9.5 of 12)"
expect 'zone-b' "group values"
expect '<span class="badge missing">missing</span>' "n4 shown as missing"
expect 'no usable report' "n4 has no bars"
if grep -q 'refresh failed' "$work/dom.html" && ! grep -q 'id="error"></span>' "$work/dom.html"; then
  echo "FAIL: the page reported a refresh error" >&2
  failed=1
fi
if [ ! -s "$out/aggregator_page.png" ]; then
  echo "FAIL: no screenshot written" >&2
  failed=1
else
  echo "screenshot: $out/aggregator_page.png"
fi
if [ "$failed" != 0 ]; then
  echo "--- rendered DOM ---" >&2
  cat "$work/dom.html" >&2
  exit 1
fi
