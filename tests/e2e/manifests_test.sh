#!/usr/bin/env bash
# Manifest test: renders deploy/base and every overlay with `kubectl kustomize`, asserts the
# security settings (check_manifests.py), then validates every object offline against the
# Kubernetes OpenAPI schemas and the prometheus-operator CRD schemas (manifest-validator/).
#
#   tests/e2e/manifests_test.sh [WORK_DIR]     (ctest runs it with WORK_DIR in the build tree)
#
# The validator's npm packages (pinned by package-lock.json) are installed into WORK_DIR once and
# reused while the lock file is unchanged. Needs kubectl, python3 with PyYAML, node and npm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-${TMPDIR:-/tmp}/nodepack-manifests}
mkdir -p "$work"
for tool in kubectl python3 node npm; do
  command -v "$tool" >/dev/null || { echo "manifests_test: $tool not found (scripts/install-deps installs it)"; exit 1; }
done

validator="$work/manifest-validator"
mkdir -p "$validator"
cp "$here/manifest-validator/package.json" "$here/manifest-validator/package-lock.json" \
   "$here/manifest-validator/validate.mjs" "$validator/"
stamp="$validator/node_modules/.nodepack-lock"
if ! cmp -s "$validator/package-lock.json" "$stamp" 2>/dev/null; then
  echo "manifests_test: installing the validator's npm packages into $validator"
  (cd "$validator" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$validator/package-lock.json" "$stamp"
fi

rendered="$work/rendered"
rm -rf "$rendered"
echo "== security and consistency checks"
python3 "$here/check_manifests.py" --out "$rendered"
echo "== OpenAPI schema validation"
node "$validator/validate.mjs" "$rendered"/*.json
