#!/usr/bin/env python3
"""Renders every kustomization under deploy/ and asserts what must not regress.

    check_manifests.py [--kubectl PATH] [--out DIR]     check; write each rendering as JSON to DIR
    check_manifests.py --write-prometheusrule           regenerate the overlay's PrometheusRule

Checks: every overlay renders; the agent DaemonSet and aggregator Deployment keep their security
settings (capabilities, users, read-only root, seccomp, no host namespaces, read-only hostPaths of
exactly /sys, /sys/fs/cgroup and /var/lib/kubelet, NODE_NAME from the downward API, probes,
requests and limits, tolerations, the agent on exactly the image's architectures and the aggregator
on any of them); RBAC is exactly the table below (reads of pods and nodes, the
review APIs for the agent's endpoint auth, get on the agent's /metrics and /report; with the
node-resource-topology overlay, create/get/update of noderesourcetopologies and --nrt.export); the
PrometheusRule equals deploy/rules/nodepack.rules.yml; the dashboard ConfigMap equals
deploy/grafana/nodepack.json. Prints "N passed, N failed".
"""

import argparse
import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
RULES = os.path.join(DEPLOY, "rules", "nodepack.rules.yml")
DASHBOARD = os.path.join(DEPLOY, "grafana", "nodepack.json")
PROMETHEUSRULE = os.path.join(DEPLOY, "overlays", "prometheus-operator", "prometheusrule.yaml")
KUSTOMIZATIONS = ["base", "overlays/prometheus-operator", "overlays/no-bpf", "overlays/usage-accounting",
                  "overlays/network-policy", "overlays/node-resource-topology", "overlays/aggregator-only",
                  "overlays/connection-topology"]
NRT = "overlays/node-resource-topology"
# kube-binpacking-exporter's shape: the aggregator alone with reads of pods and nodes, no agents.
AGGREGATOR_ONLY = "overlays/aggregator-only"

AGENT_CAPS = {"BPF", "PERFMON", "NET_ADMIN", "SYS_PTRACE"}
AGENT_HOST_PATHS = {"/sys": "/host/sys", "/sys/fs/cgroup": "/host/sys/fs/cgroup", "/proc": "/host/proc",
                    "/var/lib/kubelet": "/host/var/lib/kubelet"}
# The one writable host path: the accounting state file's directory, mounted at the same path.
AGENT_STATE_PATH = "/var/lib/nodepack"
READ_VERBS = ["get", "list", "watch"]
# The platforms the Dockerfile builds the image for.
IMAGE_ARCHES = {"amd64", "arm64"}
# Every kubernetes.io/arch value Go (and so the kubelet) can report, for NotIn/Exists/DoesNotExist.
ALL_ARCHES = {"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle", "ppc64",
              "ppc64le", "riscv64", "s390x"}


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings (PromQL, descriptions) as literal blocks, as a person would."""


_BlockDumper.add_representer(
    str, lambda dumper, s: dumper.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))


def prometheusrule_text():
    with open(RULES) as f:
        groups = yaml.safe_load(f)["groups"]
    doc = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "nodepack",
            "namespace": "nodepack",
            "labels": {"app.kubernetes.io/name": "nodepack", "app.kubernetes.io/component": "prometheus-rules"},
        },
        "spec": {"groups": groups},
    }
    header = ("# Generated from deploy/rules/nodepack.rules.yml by\n"
              "#   python3 tests/e2e/check_manifests.py --write-prometheusrule\n"
              "# Edit the rule file, not this one; the manifest test fails when they differ.\n")
    return header + yaml.dump(doc, Dumper=_BlockDumper, sort_keys=False, width=100)


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}")
        return ok

    def equal(self, got, want, what):
        return self.check(got == want, f"{what}: got {got!r}, want {want!r}")


def render(kubectl, path):
    out = subprocess.run([kubectl, "kustomize", os.path.join(DEPLOY, path)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"kubectl kustomize deploy/{path} failed:\n{out.stderr}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def find(docs, kind, name):
    hits = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return hits[0] if len(hits) == 1 else None


def check_pod_common(c, pod, who):
    spec = pod["spec"]
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        c.check(not spec.get(key, False), f"{who}: {key} must be false")
    c.equal(spec.get("securityContext", {}).get("seccompProfile", {}).get("type"), "RuntimeDefault",
            f"{who}: pod seccompProfile")
    containers = spec["containers"]
    c.equal(len(containers), 1, f"{who}: container count")
    ct = containers[0]
    sc = ct.get("securityContext", {})
    c.equal(sc.get("readOnlyRootFilesystem"), True, f"{who}: readOnlyRootFilesystem")
    c.equal(sc.get("allowPrivilegeEscalation"), False, f"{who}: allowPrivilegeEscalation")
    c.check(not sc.get("privileged", False), f"{who}: privileged must be false")
    c.equal(sc.get("seccompProfile", {}).get("type"), "RuntimeDefault", f"{who}: container seccompProfile")
    c.equal(sc.get("capabilities", {}).get("drop"), ["ALL"], f"{who}: capabilities.drop")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        c.equal(ct.get(probe, {}).get("httpGet", {}).get("path"), path, f"{who}: {probe} path")
    res = ct.get("resources", {})
    for kind in ("requests", "limits"):
        c.check({"cpu", "memory"} <= set(res.get(kind, {})), f"{who}: resources.{kind} must set cpu and memory")
    return ct, sc


def _arches_of_term(term):
    """kubernetes.io/arch values one nodeSelectorTerm allows (expressions are ANDed)."""
    allowed = set(ALL_ARCHES)
    for e in term.get("matchExpressions", []):
        if e.get("key") != "kubernetes.io/arch":
            continue
        op, values = e.get("operator"), set(e.get("values", []))
        allowed &= {"In": values, "NotIn": ALL_ARCHES - values, "Exists": ALL_ARCHES}.get(op, set())
    return allowed


def schedulable_arches(spec):
    """kubernetes.io/arch values a pod may be scheduled on, from its nodeSelector and required node
    affinity (terms are ORed)."""
    allowed = set(ALL_ARCHES)
    if "kubernetes.io/arch" in spec.get("nodeSelector", {}):
        allowed &= {spec["nodeSelector"]["kubernetes.io/arch"]}
    required = spec.get("affinity", {}).get("nodeAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    if required:
        allowed &= set().union(*(_arches_of_term(t) for t in required.get("nodeSelectorTerms", [])))
    return allowed


def check_agent(c, docs, overlay):
    who = f"{overlay}: DaemonSet nodepack-agent"
    ds = find(docs, "DaemonSet", "nodepack-agent")
    if overlay == AGGREGATOR_ONLY:
        c.check(ds is None, f"{who} absent (KBE's shape: one Deployment)")
        return
    if not c.check(ds is not None, f"{who} present"):
        return
    pod = ds["spec"]["template"]
    c.equal(pod["metadata"]["labels"].get("app.kubernetes.io/name"), "nodepack-agent", f"{who}: pod label")
    ct, sc = check_pod_common(c, pod, who)
    spec = pod["spec"]
    c.equal(sc.get("runAsUser"), 0, f"{who}: runAsUser (BPF needs root)")
    c.check(spec.get("tolerations") == [{"operator": "Exists"}], f"{who}: tolerates every taint")
    # Exactly the image's architectures: an arm64 node gets an agent, a node the image cannot
    # run on gets none instead of a crash-looping pod.
    c.equal(sorted(schedulable_arches(spec)), sorted(IMAGE_ARCHES), f"{who}: kubernetes.io/arch it schedules on")
    c.equal(spec.get("nodeSelector"), {"kubernetes.io/os": "linux"}, f"{who}: nodeSelector")
    want_caps = set() if overlay == "overlays/no-bpf" else AGENT_CAPS
    c.equal(set(sc.get("capabilities", {}).get("add", [])), want_caps, f"{who}: capabilities.add")
    c.check(not ({"SYS_ADMIN", "ALL"} & set(sc.get("capabilities", {}).get("add", []))),
            f"{who}: never SYS_ADMIN or ALL")
    args = ct.get("args", [])
    c.check(args[:1] == ["agent"] and "--host-root=/host" in args and "--kubelet-root=/host/var/lib/kubelet" in args,
            f"{who}: args {args}")
    c.equal("--collectors.bpf=false" in args, overlay == "overlays/no-bpf", f"{who}: --collectors.bpf=false present")
    c.equal("--nrt.export" in args, overlay == NRT, f"{who}: --nrt.export present")
    c.check(not any(a.startswith("--auth.mode") for a in args),
            f"{who}: endpoint auth left at its default (kubernetes): {args}")
    # Each kube_binpacking_node_* series once: the aggregator exports them, the agents do not.
    c.check("--disable-node-metrics" in args, f"{who}: --disable-node-metrics (the aggregator exports node series)")
    env = {e["name"]: e for e in ct.get("env", [])}
    c.equal(env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath"), "spec.nodeName",
            f"{who}: NODE_NAME from the downward API")
    res = ct.get("resources", {})
    c.equal(res.get("requests"), {"cpu": "20m", "memory": "32Mi"}, f"{who}: requests")
    c.equal(res.get("limits"), {"cpu": "200m", "memory": "96Mi"}, f"{who}: limits")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    host = {v["hostPath"]["path"]: name for name, v in volumes.items() if "hostPath" in v}
    c.equal(sorted(host), sorted([*AGENT_HOST_PATHS, AGENT_STATE_PATH]), f"{who}: hostPath volumes")
    mounts = {m["name"]: m for m in ct.get("volumeMounts", [])}
    state = mounts.get(host.get(AGENT_STATE_PATH), {})
    c.equal(state.get("mountPath"), AGENT_STATE_PATH, f"{who}: accounting state mount path")
    c.check(not state.get("readOnly", False), f"{who}: accounting state mounted writable")
    c.equal(volumes.get(host.get(AGENT_STATE_PATH), {}).get("hostPath", {}).get("type"), "DirectoryOrCreate",
            f"{who}: accounting state hostPath type")
    c.check(f"--accounting.state-file={AGENT_STATE_PATH}/accounting.json" in args, f"{who}: --accounting.state-file")
    for path, name in host.items():
        if path == AGENT_STATE_PATH:
            continue
        m = mounts.get(name, {})
        c.equal(m.get("readOnly"), True, f"{who}: hostPath {path} mounted read-only")
        c.equal(m.get("mountPath"), AGENT_HOST_PATHS.get(path), f"{who}: hostPath {path} mount path")
        c.check(m.get("mountPropagation", "None") == "None", f"{who}: hostPath {path} without propagation")


def check_aggregator(c, docs, overlay):
    who = f"{overlay}: Deployment nodepack-aggregator"
    dep = find(docs, "Deployment", "nodepack-aggregator")
    if not c.check(dep is not None, f"{who} present"):
        return
    pod = dep["spec"]["template"]
    c.equal(pod["metadata"]["labels"].get("app.kubernetes.io/name"), "nodepack-aggregator", f"{who}: pod label")
    ct, sc = check_pod_common(c, pod, who)
    psc = pod["spec"].get("securityContext", {})
    for ctx, where in ((psc, "pod"), (sc, "container")):
        c.equal(ctx.get("runAsNonRoot"), True, f"{who}: {where} runAsNonRoot")
        c.equal(ctx.get("runAsUser"), 65532, f"{who}: {where} runAsUser")
    c.check(not sc.get("capabilities", {}).get("add"), f"{who}: adds no capabilities")
    # Any node the image runs on: no constraint that would leave out amd64 or arm64.
    c.check(IMAGE_ARCHES <= schedulable_arches(pod["spec"]),
            f"{who}: schedules on amd64 and arm64, got {sorted(schedulable_arches(pod['spec']))}")
    c.check(not any("hostPath" in v for v in pod["spec"].get("volumes", [])), f"{who}: no hostPath volumes")
    args = ct.get("args", [])
    c.equal(args[:1], ["aggregator"], f"{who}: mode")
    c.check(not any(a.startswith("--disable-node-metrics") for a in args),
            f"{who}: exports the node series (the one copy of kube_binpacking_node_*)")
    c.equal("--node-source=api" in args, overlay == AGGREGATOR_ONLY,
            f"{who}: --node-source=api (figures from its own pod watch) exactly without agents")
    usage = overlay == "overlays/usage-accounting"
    c.equal(any(a.startswith("--prometheus-url=") for a in args), usage, f"{who}: --prometheus-url present")
    c.equal("--auth.users-file=/etc/nodepack/auth/users" in args, usage, f"{who}: --auth.users-file present")
    if usage:
        volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
        mounts = {m["mountPath"]: m for m in ct.get("volumeMounts", [])}
        users = mounts.get("/etc/nodepack/auth", {})
        c.equal(users.get("readOnly"), True, f"{who}: users Secret mounted read-only")
        c.equal(volumes.get(users.get("name"), {}).get("secret", {}).get("secretName"), "nodepack-users",
                f"{who}: users come from the nodepack-users Secret")


def _sa(name):
    return {"kind": "ServiceAccount", "name": name, "namespace": "nodepack"}


_READ_PODS_NODES = [{"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": READ_VERBS}]
# Every ClusterRole and ClusterRoleBinding a kustomization may hold, exactly: a new grant is a
# decision to make here, not something a manifest edit slips in.
CLUSTER_ROLES = {
    "nodepack-agent": _READ_PODS_NODES,
    "nodepack-aggregator": _READ_PODS_NODES,
    # Who may read the agents' endpoints (the agent asks SubjectAccessReview per request).
    "nodepack-agent-metrics-reader": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}],
    "nodepack-agent-report-reader": [{"nonResourceURLs": ["/report"], "verbs": ["get"]}],
    # What the agent's page reads, for a person through `kubectl port-forward`; bound by the user.
    "nodepack-agent-viewer": [{"nonResourceURLs": ["/metrics", "/report", "/sync", "/debug/*"], "verbs": ["get"]}],
}
CLUSTER_ROLE_BINDINGS = {
    "nodepack-agent": ("nodepack-agent", _sa("nodepack-agent")),
    "nodepack-aggregator": ("nodepack-aggregator", _sa("nodepack-aggregator")),
    # TokenReview and SubjectAccessReview, for --auth.mode=kubernetes.
    "nodepack-agent-auth-delegator": ("system:auth-delegator", _sa("nodepack-agent")),
    "nodepack-agent-report-reader": ("nodepack-agent-report-reader", _sa("nodepack-aggregator")),
}
# The NRT overlay's agent writes its node's NodeResourceTopology: never list, watch or delete.
NRT_ROLES = {
    "nodepack-agent-nrt": [{"apiGroups": ["topology.node.k8s.io"], "resources": ["noderesourcetopologies"],
                            "verbs": ["create", "get", "update"]}],
}
NRT_BINDINGS = {
    "nodepack-agent-nrt": ("nodepack-agent-nrt", _sa("nodepack-agent")),
}
# The connection-topology overlay's agent reads who owns an address: list and watch only.
TOPOLOGY = "overlays/connection-topology"
TOPOLOGY_ROLES = {
    "nodepack-agent-peers": [{"apiGroups": [""], "resources": ["services"], "verbs": ["list", "watch"]},
                             {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                              "verbs": ["list", "watch"]}],
}
TOPOLOGY_BINDINGS = {
    "nodepack-agent-peers": ("nodepack-agent-peers", _sa("nodepack-agent")),
}
OPERATOR_BINDINGS = {
    "nodepack-metrics-scraper": ("nodepack-agent-metrics-reader", _sa("nodepack-metrics-scraper")),
}


def _normalized_rules(rules):
    return sorted((json.dumps({k: sorted(v) for k, v in r.items()}, sort_keys=True) for r in rules))


def check_rbac(c, docs, overlay):
    bindings = dict(CLUSTER_ROLE_BINDINGS)
    want_roles = dict(CLUSTER_ROLES)
    if overlay == "overlays/prometheus-operator":
        bindings.update(OPERATOR_BINDINGS)
    if overlay == NRT:
        bindings.update(NRT_BINDINGS)
        want_roles.update(NRT_ROLES)
    if overlay == TOPOLOGY:
        bindings.update(TOPOLOGY_BINDINGS)
        want_roles.update(TOPOLOGY_ROLES)
    if overlay == AGGREGATOR_ONLY:
        # KBE's RBAC exactly: get, list and watch on pods and nodes, nothing else.
        want_roles = {"nodepack-aggregator": CLUSTER_ROLES["nodepack-aggregator"]}
        bindings = {"nodepack-aggregator": CLUSTER_ROLE_BINDINGS["nodepack-aggregator"]}
        c.equal(sorted(d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"), ["nodepack-aggregator"],
                f"{overlay}: ServiceAccounts")
    roles = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ClusterRole"}
    c.equal(sorted(roles), sorted(want_roles), f"{overlay}: ClusterRoles")
    for name, rules in want_roles.items():
        if name in roles:
            c.equal(_normalized_rules(roles[name].get("rules", [])), _normalized_rules(rules),
                    f"{overlay}: ClusterRole {name} rules")
    found = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ClusterRoleBinding"}
    c.equal(sorted(found), sorted(bindings), f"{overlay}: ClusterRoleBindings")
    for name, (role, subject) in bindings.items():
        if name in found:
            c.equal(found[name]["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                    f"{overlay}: ClusterRoleBinding {name} roleRef")
            c.equal(found[name]["subjects"], [subject], f"{overlay}: ClusterRoleBinding {name} subjects")
    kinds = {d["kind"] for d in docs}
    c.check(not ({"Role", "RoleBinding"} & kinds), f"{overlay}: no namespaced Roles")
    secrets = [d for d in docs if d["kind"] == "Secret"]
    if overlay == "overlays/prometheus-operator":
        # Only the scraper's token request: typed, annotated, and holding no data of ours.
        c.equal([(s["metadata"]["name"], s.get("type"), s["metadata"].get("annotations"), s.get("data"), s.get("stringData"))
                 for s in secrets],
                [("nodepack-metrics-scraper-token", "kubernetes.io/service-account-token",
                  {"kubernetes.io/service-account.name": "nodepack-metrics-scraper"}, None, None)],
                f"{overlay}: Secrets")
    else:
        c.equal(secrets, [], f"{overlay}: no Secrets")


def check_common(c, docs, overlay):
    c.check(find(docs, "Namespace", "nodepack") is not None, f"{overlay}: Namespace nodepack")
    for d in docs:
        if d["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            c.equal(d["metadata"].get("namespace"), "nodepack", f"{overlay}: {d['kind']}/{d['metadata']['name']} namespace")
    services = ("nodepack-aggregator",) if overlay == AGGREGATOR_ONLY else ("nodepack-agent", "nodepack-aggregator")
    c.equal(sorted(d["metadata"]["name"] for d in docs if d["kind"] == "Service"), sorted(services), f"{overlay}: Services")
    for name in services:
        svc = find(docs, "Service", name)
        if c.check(svc is not None, f"{overlay}: Service {name}"):
            c.equal(svc["spec"]["selector"], {"app.kubernetes.io/name": name}, f"{overlay}: Service {name} selector")
            c.equal([p["port"] for p in svc["spec"]["ports"]], [9101], f"{overlay}: Service {name} ports")
    rules_cm = find(docs, "ConfigMap", "nodepack-prometheus-rules")
    if c.check(rules_cm is not None, f"{overlay}: rules ConfigMap"):
        with open(RULES) as f:
            c.check(rules_cm["data"].get("nodepack.rules.yml") == f.read(), f"{overlay}: rules ConfigMap equals the rule file")
    dash = find(docs, "ConfigMap", "nodepack-grafana-dashboard")
    if c.check(dash is not None, f"{overlay}: dashboard ConfigMap"):
        c.equal(dash["metadata"].get("labels", {}).get("grafana_dashboard"), "1", f"{overlay}: grafana_dashboard label")
        with open(DASHBOARD) as f:
            c.check(dash["data"].get("nodepack.json") == f.read(), f"{overlay}: dashboard ConfigMap equals the JSON")


def check_operator(c, docs):
    overlay = "overlays/prometheus-operator"
    rule = find(docs, "PrometheusRule", "nodepack")
    if c.check(rule is not None, f"{overlay}: PrometheusRule"):
        with open(RULES) as f:
            c.check(rule["spec"]["groups"] == yaml.safe_load(f)["groups"],
                    f"{overlay}: PrometheusRule groups differ from deploy/rules/nodepack.rules.yml "
                    "(run tests/e2e/check_manifests.py --write-prometheusrule)")
    with open(PROMETHEUSRULE) as f:
        c.check(f.read() == prometheusrule_text(), f"{overlay}: prometheusrule.yaml is not what the generator writes")
    pm = find(docs, "PodMonitor", "nodepack-agent")
    if c.check(pm is not None, f"{overlay}: PodMonitor"):
        c.equal(pm["spec"]["selector"]["matchLabels"], {"app.kubernetes.io/name": "nodepack-agent"}, f"{overlay}: PodMonitor selector")
        c.check(all(e.get("honorLabels") for e in pm["spec"]["podMetricsEndpoints"]),
                f"{overlay}: PodMonitor honorLabels (kpod_* carry namespace/pod/container)")
    sm = find(docs, "ServiceMonitor", "nodepack-aggregator")
    if c.check(sm is not None, f"{overlay}: ServiceMonitor"):
        c.equal(sm["spec"]["selector"]["matchLabels"], {"app.kubernetes.io/name": "nodepack-aggregator"},
                f"{overlay}: ServiceMonitor selector")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubectl", default="kubectl")
    ap.add_argument("--out", help="write each rendering as a JSON list to this directory")
    ap.add_argument("--write-prometheusrule", action="store_true")
    args = ap.parse_args()
    if args.write_prometheusrule:
        with open(PROMETHEUSRULE, "w") as f:
            f.write(prometheusrule_text())
        print(f"wrote {os.path.relpath(PROMETHEUSRULE, ROOT)}")
        return 0

    c = Checker()
    with open(DASHBOARD) as f:
        c.check(isinstance(json.load(f), dict), "dashboard is a JSON object")
    for overlay in KUSTOMIZATIONS:
        try:
            docs = render(args.kubectl, overlay)
        except RuntimeError as e:
            c.check(False, str(e))
            continue
        c.check(True, f"{overlay} renders")
        print(f"deploy/{overlay}: {len(docs)} objects: " + ", ".join(sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)))
        check_common(c, docs, overlay)
        check_agent(c, docs, overlay)
        check_aggregator(c, docs, overlay)
        check_rbac(c, docs, overlay)
        if overlay == "overlays/prometheus-operator":
            check_operator(c, docs)
        c.equal([d["metadata"]["name"] for d in docs if d["kind"] == "NetworkPolicy"],
                ["nodepack-agent-ingress"] if overlay == "overlays/network-policy" else [], f"{overlay}: NetworkPolicies")
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            with open(os.path.join(args.out, overlay.replace("/", "_") + ".json"), "w") as f:
                json.dump(docs, f)
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
