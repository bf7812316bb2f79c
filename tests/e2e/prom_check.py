#!/usr/bin/env python3
"""The checks of tests/e2e/prometheus_e2e.sh, against a running sim, agents and Prometheus.

1. Node values: kube_binpacking_node_{allocated,allocatable,utilization_ratio,daemonset_*} in
   Prometheus equal what this file computes on its own from the simulator's Pods and Nodes, with
   kube-scheduler's request rule (init containers, sidecars, in-place resize, pod-level resources,
   overhead) re-implemented here in exact decimal arithmetic. With the aggregator, the cluster and
   group series too.
2. NUMA values from the host fixture (NUMA node count, CPUs per NUMA node) and the kubelet fixture
   (one valid, one corrupt, one missing checkpoint).
3. Every recording rule, alert and dashboard query evaluates without error and returns series,
   except those whose data cannot exist in this test; each of those is listed with the reason.
4. `promtool check metrics` on every /metrics finds nothing but the contract's own names.

Prints "N passed, N failed" and exits non-zero on any failure.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from fractions import Fraction

import yaml

# ---------------------------------------------------------------------------------------------
# Kubernetes quantities and the scheduler's pod requests

_SUFFIX = {
    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18),
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
    "Pi": Fraction(2**50), "Ei": Fraction(2**60),
}
_QUANTITY = re.compile(r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$")


def quantity(text):
    m = _QUANTITY.match(str(text).strip())
    if not m:
        raise ValueError(f"not a quantity: {text!r}")
    sign, number, exponent, suffix = m.groups()
    value = Fraction(number)
    if exponent is not None:
        value *= Fraction(10) ** int(exponent)
    else:
        value *= _SUFFIX[suffix or ""]
    return -value if sign == "-" else value


def add(into, other):
    for k, v in other.items():
        into[k] = into.get(k, Fraction(0)) + v


def maximum(into, other):
    for k, v in other.items():
        into[k] = max(into.get(k, Fraction(0)), v)


def parse_list(resources):
    return {k: quantity(v) for k, v in (resources or {}).items()}


def container_requests(container, status, infeasible):
    """max(spec, status.allocatedResources, status.resources.requests); spec ignored when a
    resize is Infeasible (kube-scheduler's per-container rule, Kubernetes <= 1.36)."""
    out = {}
    if not infeasible:
        maximum(out, parse_list(container.get("resources", {}).get("requests")))
    if status:
        maximum(out, parse_list(status.get("allocatedResources")))
        maximum(out, parse_list((status.get("resources") or {}).get("requests")))
    return out


def pod_requests(pod):
    spec, status = pod["spec"], pod.get("status", {})
    infeasible = any(c.get("type") == "PodResizePending" and c.get("reason") == "Infeasible"
                     for c in status.get("conditions") or [])
    statuses = {s["name"]: s for s in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])}
    reqs = {}
    for c in spec.get("containers", []):
        add(reqs, container_requests(c, statuses.get(c["name"]), infeasible))
    sidecars, init_peak = {}, {}
    for c in spec.get("initContainers") or []:
        r = container_requests(c, statuses.get(c["name"]), infeasible)
        if c.get("restartPolicy") == "Always":
            add(reqs, r)            # a sidecar runs beside the regular containers
            add(sidecars, r)
            candidate = dict(sidecars)
        else:
            candidate = dict(r)     # a regular init container runs beside the sidecars before it
            add(candidate, sidecars)
        maximum(init_peak, candidate)
    maximum(reqs, init_peak)
    pod_level = parse_list((spec.get("resources") or {}).get("requests"))
    for k, v in pod_level.items():
        if k in ("cpu", "memory") or k.startswith("hugepages-"):
            reqs[k] = v
    add(reqs, parse_list(spec.get("overhead")))
    # rounded once, on the pod total: cpu up to whole millicores, the rest up to whole units
    out = {}
    for k, v in reqs.items():
        unit = Fraction(1, 1000) if k == "cpu" else Fraction(1)
        whole = -((-v) // unit)
        out[k] = whole * unit
    return out


def counts_toward_node(pod):
    return pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")


def is_daemonset_pod(pod):
    return any(o.get("kind") == "DaemonSet" for o in pod["metadata"].get("ownerReferences") or [])


def expected_nodes(sim, resources):
    nodes = get_json(f"{sim}/api/v1/nodes")["items"]
    pods = get_json(f"{sim}/api/v1/pods")["items"]
    out = {}
    for n in nodes:
        name = n["metadata"]["name"]
        alloc = parse_list(n.get("status", {}).get("allocatable"))
        out[name] = {"labels": n["metadata"].get("labels", {}),
                     "allocatable": {r: alloc.get(r, Fraction(0)) for r in resources},
                     "allocated": {r: Fraction(0) for r in resources},
                     "daemonset": {r: Fraction(0) for r in resources}}
    coverage = {"init container": 0, "sidecar": 0, "overhead": 0, "DaemonSet pod": 0, "bound Pending pod": 0,
                "finished pod left out": 0, "unscheduled pod left out": 0}
    pending = {"pods": 0, "requested": {r: Fraction(0) for r in resources}}
    for p in pods:
        node = p["spec"].get("nodeName")
        if not node or node not in out:
            coverage["unscheduled pod left out"] += 1
            if not node and p.get("status", {}).get("phase") == "Pending":
                pending["pods"] += 1
                reqs = pod_requests(p)
                for r in resources:
                    pending["requested"][r] += Fraction(1) if r == "pods" else reqs.get(r, Fraction(0))
            continue
        if not counts_toward_node(p):
            coverage["finished pod left out"] += 1
            continue
        inits = p["spec"].get("initContainers") or []
        coverage["init container"] += any(c.get("restartPolicy") != "Always" for c in inits)
        coverage["sidecar"] += any(c.get("restartPolicy") == "Always" for c in inits)
        coverage["overhead"] += bool(p["spec"].get("overhead"))
        coverage["DaemonSet pod"] += is_daemonset_pod(p)
        coverage["bound Pending pod"] += p.get("status", {}).get("phase") == "Pending"
        reqs = pod_requests(p)
        reqs["pods"] = Fraction(1)
        for r in resources:
            out[node]["allocated"][r] += reqs.get(r, Fraction(0))
            if is_daemonset_pod(p):
                out[node]["daemonset"][r] += reqs.get(r, Fraction(0))
    return out, coverage, pending


def ratio(a, b):
    return a / b if b else Fraction(0)


# ---------------------------------------------------------------------------------------------
# HTTP and Prometheus

BEARER = {}  # host:port -> token, for endpoints that answer only vouched-for callers (the agents)


def get(url, timeout=5):
    request = urllib.request.Request(url)
    host = urllib.parse.urlsplit(url).netloc
    if host in BEARER:
        request.add_header("Authorization", "Bearer " + BEARER[host])
    with urllib.request.urlopen(request, timeout=timeout) as r:
        return r.read().decode()


def get_json(url):
    return json.loads(get(url))


class Prometheus:
    def __init__(self, url):
        self.url = url

    def query(self, expr):
        """(ok, result or error)."""
        try:
            body = get(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        except urllib.error.HTTPError as e:
            body = e.read().decode()
        d = json.loads(body)
        if d.get("status") != "success":
            return False, f"{d.get('errorType')}: {d.get('error')}"
        return True, d["data"]["result"]

    def vector(self, expr):
        ok, result = self.query(expr)
        if not ok:
            raise RuntimeError(f"{expr}: {result}")
        return result


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

    def close(self, got, want, what):
        want = float(want)
        ok = got is not None and abs(got - want) <= 1e-9 * max(1.0, abs(want))
        return self.check(ok, f"{what}: got {got}, want {want}")


def wait_until(what, predicate, seconds):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001 - keep polling until the deadline
            pass
        if time.monotonic() > deadline:
            print(f"FAIL: timed out after {seconds}s waiting for {what}")
            return False
        time.sleep(0.25)


# ---------------------------------------------------------------------------------------------
# Which series cannot exist in this test, and why

ABSENT_REASONS = [
    ("kpod_", "per-pod kernel metrics: the simulated pods have no cgroups on this machine, so no BPF "
              "event is ever attributed to one of them"),
    ("nodepack_collector_", "the BPF collector registry's self-metrics: only where the agent runs its "
                            "BPF collectors (root, a BPF-capable kernel)"),
    ("nodepack_bpf_", "BPF programs' self-metrics: only where the agent runs its BPF collectors"),
    ("nodepack_cgroup_read_errors", "the cgroup-file collector's self-metric: only where the agent runs "
                                    "its kpod collectors"),
    ("numainfo_container_aligned", "needs Guaranteed containers with exclusive CPUs in the kubelet's "
                                   "cpu_manager_state belonging to pods bound to the node; the "
                                   "simulated pods are in no checkpoint"),
    ("numainfo_hugepages_bytes", "the host fixture (hwloc's 16amd64-8n2c) has no hugepage pools"),
]
AGGREGATOR_ONLY = ("kube_binpacking_cluster_", "kube_binpacking_group_", "nodepack_aggregator_")
AGGREGATOR_REASON = "served by the aggregator, which this build does not have (SKIPPED above)"

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
             "offset", "inf", "nan"}


def referenced_metrics(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)           # strings
    e = re.sub(r"\{[^}]*\}", "", e)                          # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                         # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        name = m.group(0)
        rest = e[m.end():].lstrip()
        if name in _KEYWORDS or rest.startswith("("):
            continue
        if re.fullmatch(r"[0-9eE]+", name):
            continue
        names.add(name)
    return names


def is_filter(expr):
    """Whether the expression keeps only some series (a comparison), so empty can be healthy."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    return re.search(r"(==|!=|>=|<=|>|<)", e) is not None


class Catalogue:
    """Knows which metric names exist in Prometheus and why a missing one is allowed to be."""

    def __init__(self, prom, rules, have_aggregator):
        self.prom = prom
        self.have_aggregator = have_aggregator
        self.recorded = {r["record"]: r["expr"] for g in rules["groups"] for r in g["rules"] if "record" in r}
        self._present = {}

    def present(self, name):
        if name not in self._present:
            self._present[name] = bool(self.prom.vector(f'count({{__name__="{name}"}})'))
        return self._present[name]

    def absent_reason(self, name):
        """Why `name` may have no series here, or None when it must have series."""
        if name in self.recorded:
            for base in sorted(referenced_metrics(self.recorded[name])):
                reason = self.absent_reason(base)
                if reason and not self.present(base):
                    return f"{name} <- {base}: {reason}"
            return None
        if not self.have_aggregator and name.startswith(AGGREGATOR_ONLY):
            return AGGREGATOR_REASON
        for prefix, reason in ABSENT_REASONS:
            if name.startswith(prefix):
                return reason
        return None

    def expected_empty(self, expr):
        """The reason the expression may return nothing, or None when it must return series."""
        for name in sorted(referenced_metrics(expr)):
            if not self.present(name):
                reason = self.absent_reason(name)
                if reason:
                    return f"{name}: {reason}"
        return None


# ---------------------------------------------------------------------------------------------
# The checks

def by_labels(result, *keys, job=None):
    out = {}
    for s in result:
        if job and s["metric"].get("job") != job:
            continue
        k = tuple(s["metric"].get(key, "") for key in keys)
        out.setdefault(k, []).append(float(s["value"][1]))
    return out


def check_node_values(c, prom, expected, resources, job):
    for metric, field in (("kube_binpacking_node_allocated", "allocated"),
                          ("kube_binpacking_node_allocatable", "allocatable"),
                          ("kube_binpacking_node_daemonset_overhead", "daemonset"),
                          ("kube_binpacking_node_utilization_ratio", None),
                          ("kube_binpacking_node_daemonset_overhead_ratio", "ds_ratio")):
        got = by_labels(prom.vector(metric), "node", "resource", job=job)
        want = {}
        for node, e in expected.items():
            for r in resources:
                if field is None:
                    want[(node, r)] = ratio(e["allocated"][r], e["allocatable"][r])
                elif field == "ds_ratio":
                    want[(node, r)] = ratio(e["daemonset"][r], e["allocatable"][r])
                else:
                    want[(node, r)] = e[field][r]
        c.check(set(got) == set(want), f"{job} {metric}: series {sorted(got)} != expected {sorted(want)}")
        for key, value in sorted(want.items()):
            values = got.get(key, [])
            c.check(len(values) <= 1, f"{job} {metric}{key}: {len(values)} series")
            c.close(values[0] if values else None, value, f"{job} {metric}{{node={key[0]},resource={key[1]}}}")


def check_aggregator_values(c, prom, expected, resources, groups):
    job = "nodepack-aggregator"
    nodes = list(expected.values())
    got = by_labels(prom.vector("kube_binpacking_cluster_node_count"), job=job)
    c.close(got.get((), [None])[0], len(nodes), "kube_binpacking_cluster_node_count")
    for metric, want_of in (
            ("kube_binpacking_cluster_allocated", lambda r: sum(n["allocated"][r] for n in nodes)),
            ("kube_binpacking_cluster_allocatable", lambda r: sum(n["allocatable"][r] for n in nodes)),
            ("kube_binpacking_cluster_utilization_ratio",
             lambda r: ratio(sum(n["allocated"][r] for n in nodes), sum(n["allocatable"][r] for n in nodes))),
            ("kube_binpacking_cluster_daemonset_overhead", lambda r: sum(n["daemonset"][r] for n in nodes)),
            ("kube_binpacking_cluster_daemonset_overhead_ratio",
             lambda r: ratio(sum(n["daemonset"][r] for n in nodes), sum(n["allocatable"][r] for n in nodes)))):
        got = by_labels(prom.vector(metric), "resource", job=job)
        for r in resources:
            c.close(got.get((r,), [None])[0], want_of(r), f"{metric}{{resource={r}}}")
    for keys in groups:
        label_group = ",".join(keys)
        members = {}
        for n in nodes:
            value = ",".join(n["labels"].get(k, "<none>") for k in keys)
            members.setdefault(value, []).append(n)
        count = by_labels(prom.vector(f'kube_binpacking_group_node_count{{label_group="{label_group}"}}'),
                          "label_group_value", job=job)
        c.check(set(count) == {(v,) for v in members}, f"group {label_group}: values {sorted(count)} != {sorted(members)}")
        for value, ns in members.items():
            c.close(count.get((value,), [None])[0], len(ns), f"kube_binpacking_group_node_count{{{label_group}={value}}}")
        for metric, want_of in (
                ("kube_binpacking_group_allocated", lambda ns, r: sum(n["allocated"][r] for n in ns)),
                ("kube_binpacking_group_allocatable", lambda ns, r: sum(n["allocatable"][r] for n in ns)),
                ("kube_binpacking_group_utilization_ratio",
                 lambda ns, r: ratio(sum(n["allocated"][r] for n in ns), sum(n["allocatable"][r] for n in ns))),
                ("kube_binpacking_group_daemonset_overhead", lambda ns, r: sum(n["daemonset"][r] for n in ns))):
            got = by_labels(prom.vector(f'{metric}{{label_group="{label_group}"}}'), "label_group_value", "resource", job=job)
            for value, ns in members.items():
                for r in resources:
                    c.close(got.get((value, r), [None])[0], want_of(ns, r), f"{metric}{{{label_group}={value},resource={r}}}")


def fixture_numa(host_root):
    base = os.path.join(host_root, "sys/devices/system/node")
    cpus = {}
    for d in sorted(os.listdir(base)):
        m = re.fullmatch(r"node(\d+)", d)
        if not m:
            continue
        with open(os.path.join(base, d, "cpulist")) as f:
            text = f.read().strip()
        n = 0
        for part in filter(None, text.split(",")):
            lo, _, hi = part.partition("-")
            n += int(hi or lo) - int(lo) + 1
        cpus[f"node{int(m.group(1)):02d}"] = n
    return cpus


def check_numa(c, prom, expected, host_root):
    cpus = fixture_numa(host_root)
    for node in expected:
        got = by_labels(prom.vector(f'numainfo_node_count{{node="{node}"}}'))
        c.close(got.get((), [None])[0], len(cpus), f"numainfo_node_count{{node={node}}}")
        got = by_labels(prom.vector(f'numainfo_core_count{{node="{node}",type="capacity"}}'), "numanode")
        c.check(set(got) == {(k,) for k in cpus}, f"numainfo_core_count{{node={node}}} numanodes {sorted(got)}")
        for numanode, n in cpus.items():
            c.close(got.get((numanode,), [None])[0], n, f"numainfo_core_count{{node={node},numanode={numanode},type=capacity}}")
        valid = by_labels(prom.vector(f'numainfo_checkpoint_valid{{node="{node}"}}'), "file")
        for file, want in (("cpu_manager_state", 1), ("memory_manager_state", 0), ("kubelet_internal_checkpoint", 0)):
            c.close(valid.get((file,), [None])[0], want, f"numainfo_checkpoint_valid{{node={node},file={file}}}")


def check_rules(c, prom, cat, rules, expected):
    skipped = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule.get("record") or rule.get("alert")
            ok, result = prom.query(rule["expr"])
            if not c.check(ok, f"rule {name}: expression does not evaluate: {result}"):
                continue
            if "record" in rule:
                reason = cat.expected_empty(rule["expr"])
                stored = prom.vector(rule["record"])
                if reason:
                    skipped.append((f"recording rule {name}", reason))
                else:
                    c.check(bool(result), f"recording rule {name}: expression returned no series")
                    c.check(bool(stored), f"recording rule {name}: Prometheus stored no series for it")
            else:
                for metric in sorted(referenced_metrics(rule["expr"])):
                    reason = cat.absent_reason(metric) if not cat.present(metric) else None
                    if reason:
                        skipped.append((f"alert {name} ({metric})", reason))
                    else:
                        c.check(cat.present(metric), f"alert {name}: no series for {metric}")
    # Alerts whose answer this test knows: the corrupt memory_manager_state on every node, and
    # DaemonSet overhead computed from the sim's pods.
    unreadable = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "NodepackKubeletCheckpointUnreadable")
    got = sorted((s["metric"]["node"], s["metric"]["file"]) for s in prom.vector(unreadable["expr"]))
    c.check(got == sorted((n, "memory_manager_state") for n in expected),
            f"NodepackKubeletCheckpointUnreadable expression: got {got}")
    overhead = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "NodepackNodeDaemonSetOverheadHigh")
    got = sorted((s["metric"]["node"], s["metric"]["resource"]) for s in prom.vector(overhead["expr"])
                 if s["metric"].get("job") == "nodepack-agent")
    want = sorted((n, r) for n, e in expected.items() for r in ("cpu", "memory")
                  if ratio(e["daemonset"][r], e["allocatable"][r]) > Fraction(3, 10))
    c.check(got == want, f"NodepackNodeDaemonSetOverheadHigh expression: got {got}, want {want}")
    stale = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "NodepackCacheAgeHigh")
    c.check(prom.vector(stale["expr"]) == [], "NodepackCacheAgeHigh fires on a fresh cache")
    return skipped


DASHBOARD_VARS = {"$resource": ".*", "$label_group": ".*", "$node": ".*", "$namespace": ".*",
                  "$__rate_interval": "15s", "$__interval": "1s", "${datasource}": ""}


def dashboard_queries(dashboard, bad_variable=None):
    """(what, expr) of every variable and panel query, with the variables filled in."""
    queries = []
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.fullmatch(r"label_values\((.+),\s*([a-zA-Z_]+)\)", q)
            if m:
                queries.append((f"variable ${v['name']}", f"group by ({m.group(2)}) ({m.group(1)})"))
            elif bad_variable:
                bad_variable(v["name"], q)

    def walk(panels):
        for p in panels:
            yield p
            yield from walk(p.get("panels", []))
    for p in walk(dashboard.get("panels", [])):
        for t in p.get("targets", []):
            expr = t["expr"]
            for k, v in DASHBOARD_VARS.items():
                expr = expr.replace(k, v)
            queries.append((f"panel '{p['title']}' {t['refId']}", expr))
    return queries


def check_dashboard(c, prom, cat, dashboard):
    skipped = []
    queries = dashboard_queries(dashboard, lambda name, q: c.check(False, f"dashboard variable {name}: unexpected query {q}"))
    for what, expr in queries:
        ok, result = prom.query(expr)
        if not c.check(ok, f"dashboard {what}: {expr}: {result}"):
            continue
        reason = cat.expected_empty(expr)
        if reason:
            skipped.append((f"dashboard {what}", reason))
        elif is_filter(expr):
            for metric in sorted(referenced_metrics(expr)):
                c.check(cat.present(metric), f"dashboard {what}: no series for {metric}")
        else:
            c.check(bool(result), f"dashboard {what}: no series: {expr}")
    return skipped


# Names promtool flags that the contract fixes (numainfo_exporter's), and nodepack names that
# follow them and are to be renamed; the second list warns loudly instead of failing.
# Names fixed by the tools nodepack replaces, or by the issue that specified them.
LINT_CONTRACT = {"numainfo_core_count", "numainfo_node_count", "kube_binpacking_cluster_node_count",
                 "kube_binpacking_group_node_count", "numainfo_shared_pool_core_count", "numainfo_device_count"}
LINT_PENDING_RENAME = set()


def check_metrics_lint(c, endpoints):
    for name, addr in endpoints:
        text = get(f"http://{addr}/metrics")
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        problems = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
        bad = []
        for line in problems:
            metric = line.split()[0]
            if metric in LINT_CONTRACT:
                continue
            if metric in LINT_PENDING_RENAME:
                print(f"WARNING: promtool check metrics ({name}): {line}  [nodepack name, pending rename]")
                continue
            bad.append(line)
        c.check(not bad, f"promtool check metrics on {name} ({addr}): " + "; ".join(bad))
        c.check(r.returncode in (0, 3) or not problems, f"promtool check metrics on {name}: exit {r.returncode}")


def check_victoria_metrics(c, prom, vm, targets, expected, resources, args, dashboard):
    """The same values from a VictoriaMetrics that scrapes the same targets, and every dashboard
    query that returns series on Prometheus returns series there too (MetricsQL accepts PromQL)."""
    print("\n-- VictoriaMetrics --")
    c.check(wait_until("VictoriaMetrics to scrape every target 3 times",
                       lambda: len(vm.vector("count_over_time(up[1m]) >= 3 and up == 1")) == targets, 30),
            "VictoriaMetrics: targets up")
    # A new series becomes searchable a moment after its first scrape: wait for as many
    # binpacking series as Prometheus holds before comparing values.
    binpacking = 'count by (job) ({__name__=~"kube_binpacking_.*"})'
    c.check(wait_until("VictoriaMetrics to hold every binpacking series",
                       lambda: vm.vector(binpacking) and by_labels(vm.vector(binpacking), "job") ==
                       by_labels(prom.vector(binpacking), "job"), 30),
            "VictoriaMetrics: the same binpacking series as Prometheus")
    check_node_values(c, vm, expected, resources, "nodepack-agent")
    if args.aggregator:
        check_aggregator_values(c, vm, expected, resources, [g.split(",") for g in args.label_group])
    compared = 0
    for _, expr in dashboard_queries(dashboard):
        ok, on_prom = prom.query(expr)
        if not ok or not on_prom:
            continue
        compared += 1
        # Recorded series come from vmalert, a rule interval after the data they read.
        c.check(wait_until(f"VictoriaMetrics to answer {expr}", lambda e=expr: vm.vector(e), 15),
                f"VictoriaMetrics: dashboard query returns series as on Prometheus: {expr}")
    c.check(compared > 0, "VictoriaMetrics: some dashboard queries compared")
    print(f"VictoriaMetrics: {compared} dashboard queries compared")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prometheus", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("--agent", action="append", default=[])
    ap.add_argument("--agent-token", default="", help="bearer token the agents accept for /metrics")
    ap.add_argument("--aggregator")
    ap.add_argument("--victoria-metrics", help="a VictoriaMetrics scraping the same targets")
    ap.add_argument("--host-root", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--dashboard", required=True)
    ap.add_argument("--resources", default="cpu,memory")
    ap.add_argument("--label-group", action="append",
                    default=["topology.kubernetes.io/zone", "topology.kubernetes.io/zone,node.kubernetes.io/instance-type"])
    args = ap.parse_args()
    for a in args.agent:
        if args.agent_token:
            BEARER[a] = args.agent_token
    resources = args.resources.split(",")
    prom = Prometheus(args.prometheus)
    with open(args.rules) as f:
        rules = yaml.safe_load(f)
    with open(args.dashboard) as f:
        dashboard = json.load(f)
    c = Checker()

    expected, coverage, pending = expected_nodes(args.sim, resources)
    print("pod shapes in the simulated cluster: " + ", ".join(f"{k} {v}" for k, v in coverage.items()))
    for shape, n in coverage.items():
        c.check(n > 0, f"the simulated cluster has no {shape}: choose another --seed in prometheus_e2e.sh")
    print(f"expected from the sim's objects: {len(expected)} nodes")
    for node, e in sorted(expected.items()):
        print(f"  {node}: " + ", ".join(
            f"{r} {float(e['allocated'][r]):g}/{float(e['allocatable'][r]):g} (ds {float(e['daemonset'][r]):g})"
            for r in resources))

    # A few scrapes of every target and a few rule evaluations.
    targets = len(args.agent) + (1 if args.aggregator else 0)
    c.check(wait_until("every target scraped 3 times",
                       lambda: len([s for s in prom.vector("count_over_time(up[1m]) >= 3 and up == 1")]) == targets, 30),
            "targets up")
    c.check(wait_until("the recording rules",
                       lambda: prom.vector("cluster:kube_binpacking_node_utilization_ratio:sum_ratio"), 20),
            "recording rules evaluated")

    check_node_values(c, prom, expected, resources, "nodepack-agent")
    if args.aggregator:
        if prom.vector('count({__name__=~"kube_binpacking_node_.*",job="nodepack-aggregator"})'):
            check_node_values(c, prom, expected, resources, "nodepack-aggregator")
        check_aggregator_values(c, prom, expected, resources, [g.split(",") for g in args.label_group])
        got = by_labels(prom.vector("kube_binpacking_cluster_pending_pods"), job="nodepack-aggregator")
        c.close(got.get((), [None])[0], pending["pods"], "kube_binpacking_cluster_pending_pods")
        got = by_labels(prom.vector("kube_binpacking_cluster_pending_requested"), "resource", job="nodepack-aggregator")
        for r in resources:
            c.close(got.get((r,), [None])[0], pending["requested"][r], f"kube_binpacking_cluster_pending_requested{{resource={r}}}")
    check_numa(c, prom, expected, args.host_root)

    cat = Catalogue(prom, rules, args.aggregator is not None)
    skipped = check_rules(c, prom, cat, rules, expected)
    skipped += check_dashboard(c, prom, cat, dashboard)
    endpoints = [(f"agent {i}", a) for i, a in enumerate(args.agent)]
    if args.aggregator:
        endpoints.append(("aggregator", args.aggregator))
    check_metrics_lint(c, endpoints)
    if args.victoria_metrics:
        check_victoria_metrics(c, prom, Prometheus(args.victoria_metrics), targets, expected, resources, args,
                               dashboard)

    if skipped:
        print(f"\nNot expected to return series in this test ({len(skipped)}), evaluated without error:")
        for what, reason in skipped:
            print(f"  - {what}: {reason}")
    print(f"\n{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
