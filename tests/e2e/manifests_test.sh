#!/usr/bin/env bash
# Manifest test: renders deploy/base and every overlay with `kubectl kustomize`, asserts the
# security settings (check_manifests.py), then validates every object offline against the
# Kubernetes OpenAPI schemas and the prometheus-operator CRD schemas (manifest-validator/), and the
# Grafana dashboard against Grafana's published dashboard schema (dashboard-schema/).
#
#   tests/e2e/manifests_test.sh [WORK_DIR]     (ctest runs it with WORK_DIR in the build tree)
#
# The checkers' npm packages (pinned by their package-lock.json) are installed into WORK_DIR once
# and reused while the lock file is unchanged. Needs kubectl, python3 with PyYAML, node and npm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-${TMPDIR:-/tmp}/nodepack-manifests}
mkdir -p "$work"
for tool in kubectl python3 node npm; do
  command -v "$tool" >/dev/null || { echo "manifests_test: $tool not found (scripts/install-deps installs it)"; exit 1; }
done

# install_checker NAME: copies tests/e2e/NAME into WORK_DIR and installs its pinned packages.
install_checker() {
  local dir="$work/$1"
  mkdir -p "$dir"
  cp "$here/$1"/*.json "$here/$1"/*.mjs "$dir/"
  local stamp="$dir/node_modules/.nodepack-lock"
  if ! cmp -s "$dir/package-lock.json" "$stamp" 2>/dev/null; then
    echo "manifests_test: installing $1's npm packages into $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$stamp"
  fi
}
install_checker manifest-validator
install_checker dashboard-schema
validator="$work/manifest-validator"

rendered="$work/rendered"
rm -rf "$rendered"
echo "== security and consistency checks"
python3 "$here/check_manifests.py" --out "$rendered"
echo "== OpenAPI schema validation"
node "$validator/validate.mjs" "$rendered"/*.json
echo "== Grafana dashboard schema"
node "$work/dashboard-schema/check_dashboard.mjs" "$here/../../deploy/grafana/nodepack.json"
