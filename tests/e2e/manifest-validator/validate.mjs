// Validates rendered manifests (JSON lists written by check_manifests.py --out) offline, two ways:
//  1. the Kubernetes OpenAPI schemas compiled by kubernetes-models (types, required fields, enums,
//     formats), and the prometheus-operator CRD schemas for PodMonitor/ServiceMonitor/PrometheusRule;
//  2. unknown fields: every key must be a field of its OpenAPI type, walked with the type maps
//     of the official JavaScript client (@kubernetes/client-node), which the schemas above allow
//     through (they do not forbid additional properties; the API server drops or rejects them).
// Prints one line per object and "N passed, N failed".
//
//   node validate.mjs rendered/*.json

import fs from "node:fs";
// The generated models only: the client proper needs a newer Node than Debian ships.
import * as k8s from "@kubernetes/client-node/dist/gen/models/all.js";

const GROUP_PACKAGES = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

async function modelClass(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const pkg = GROUP_PACKAGES[group] ?? "kubernetes-models";
  const path = group ? `${pkg}/${group}/${version}/${kind}` : `${pkg}/${version}/${kind}`;
  const mod = await import(path);
  return mod[kind];
}

// Client type names: V1DaemonSet, V1ClusterRole, ...; CRDs have none (schema check only).
function clientTypeName(apiVersion, kind) {
  const version = apiVersion.includes("/") ? apiVersion.split("/")[1] : apiVersion;
  const name = version.charAt(0).toUpperCase() + version.slice(1) + kind;
  return k8s[name]?.getAttributeTypeMap ? name : null;
}

function unknownFields(value, type, path, out) {
  if (value === null || value === undefined) return;
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (!Array.isArray(value)) return out.push(`${path}: expected a list`);
    value.forEach((v, i) => unknownFields(v, m[1], `${path}[${i}]`, out));
    return;
  }
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) {
    if (typeof value !== "object" || Array.isArray(value)) return out.push(`${path}: expected a map`);
    for (const [k, v] of Object.entries(value)) unknownFields(v, m[1], `${path}.${k}`, out);
    return;
  }
  const cls = k8s[type];
  if (!cls?.getAttributeTypeMap) return;  // string, number, boolean, Date, IntOrString, any, ...
  if (typeof value !== "object" || Array.isArray(value)) return out.push(`${path}: expected an object (${type})`);
  const fields = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    if (!fields.has(k)) {
      out.push(`${path}.${k}: unknown field in ${type}`);
    } else {
      unknownFields(v, fields.get(k), `${path}.${k}`, out);
    }
  }
}

let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  const docs = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const doc of docs) {
    const id = `${file.replace(/^.*\//, "")}: ${doc.apiVersion} ${doc.kind}/${doc.metadata?.name}`;
    const problems = [];
    try {
      const Model = await modelClass(doc.apiVersion, doc.kind);
      new Model(doc).validate();
    } catch (e) {
      problems.push(e.code === "ERR_MODULE_NOT_FOUND" ? `no schema for ${doc.apiVersion} ${doc.kind}` : e.message);
    }
    const typeName = clientTypeName(doc.apiVersion, doc.kind);
    if (typeName) {
      unknownFields(doc, typeName, "", problems);
    } else if (!GROUP_PACKAGES[doc.apiVersion.split("/")[0]]) {
      problems.push(`no client type for ${doc.apiVersion} ${doc.kind}`);
    }
    if (problems.length === 0) {
      passed++;
      console.log(`ok   ${id}${typeName ? "" : " (schema only: custom resource)"}`);
    } else {
      failed++;
      console.log(`FAIL ${id}\n     ${problems.join("\n     ")}`);
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
