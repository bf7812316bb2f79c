#!/usr/bin/env python3
"""kubectl against nodepack-sim: the simulator speaks the real protocol well enough that a person
can look at the demo cluster the way they look at any cluster.

    kubectl_sim_test.py NODEPACK_SIM [NODEPACK]

Checks `kubectl get pods|nodes` (Table columns, -o wide, label and field selectors), `kubectl
describe node` (allocated resources computed by kubectl from the pods), `kubectl describe pod` of a
pod that fits nowhere (the scheduler's message), and that the other kinds answer (leases,
noderesourcetopologies). With NODEPACK, an agent with --nrt.export on the GB200-like machine shape
(tests/fixtures/numa-shapes) as sim-node-0: `kubectl get noderesourcetopologies -o yaml` shows its
34 zones with the numbers derived from that shape's files. Needs kubectl.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

import yaml

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")

from e2e_checks import check, summary  # the script's directory is on sys.path


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__)
        return 2
    sim = sys.argv[1]
    nodepack = sys.argv[2] if len(sys.argv) == 3 else None
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("kubectl_sim_test: kubectl not found")
        return 1
    work = tempfile.mkdtemp(prefix="nodepack-kubectl-")
    kubeconfig = os.path.join(work, "kubeconfig")
    proc = subprocess.Popen([sim, "--nodes", "3", "--pods-per-node", "12", "--churn-interval", "0", "--seed", "1",
                             "--kubeconfig-out", kubeconfig], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    nrt_agent = None
    try:
        deadline = time.time() + 10
        while not (os.path.exists(kubeconfig) and os.path.getsize(kubeconfig) > 0):
            if time.time() > deadline or proc.poll() is not None:
                print("kubectl_sim_test: nodepack-sim did not start")
                return 1
            time.sleep(0.05)

        def k(*args):
            out = subprocess.run([kubectl, "--kubeconfig", kubeconfig, *args], capture_output=True, text=True,
                                 timeout=30)
            if out.returncode != 0:
                print(f"kubectl {' '.join(args)} failed:\n{out.stderr}")
            return out.stdout

        pods = json.loads(k("get", "pods", "-A", "-o", "json"))["items"]
        check(len(pods) == 3 * 12, f"kubectl get pods -A -o json: {len(pods)} pods")
        pending = [p for p in pods if not p["spec"].get("nodeName")]
        check(len(pending) >= 1, f"{len(pending)} pod(s) wait for a node")

        table = k("get", "pods", "-A").splitlines()
        header = table[0].split()
        check(header == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"], f"pods header: {table[0]}")
        check(len(table) == 1 + len(pods), f"one line per pod ({len(table) - 1})")
        agent = next(line for line in table if "node-agent-" in line).split()
        check(agent[2] == "1/1" and agent[3] == "Running" and agent[4].isdigit(), f"a DaemonSet pod's row: {agent}")
        check(any(line.split()[3] == "Pending" for line in table[1:]), "a Pending row")

        wide = k("get", "pods", "-A", "-o", "wide").splitlines()
        check(wide[0].split()[:8] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"],
              f"-o wide header: {wide[0]}")
        bound = next(line.split() for line in wide[1:] if "node-agent-" in line)
        # The simulator's pod network: 10.128.0.0/9, each pod its own address.
        check(re.match(r"10\.(1[2-9]\d|2[0-5]\d)\.\d+\.\d+$", bound[6]) is not None and bound[7].startswith("sim-node-"),
              f"-o wide IP and NODE: {bound[6]} {bound[7]}")

        nodes = k("get", "nodes").splitlines()
        check(nodes[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"], f"nodes header: {nodes[0]}")
        check(len(nodes) == 4 and all(line.split()[1] == "Ready" and line.split()[4] == "v1.32.0"
                                      for line in nodes[1:]), "three Ready nodes at v1.32.0")
        nodes_wide = k("get", "nodes", "-o", "wide").splitlines()
        check("INTERNAL-IP" in nodes_wide[0] and "CONTAINER-RUNTIME" in nodes_wide[0], "nodes -o wide header")

        redis = k("get", "pods", "-A", "-l", "app=redis", "-o", "name").split()
        want = [p for p in pods if p["metadata"]["labels"].get("app") == "redis"]
        check(len(redis) == len(want), f"label selector app=redis: {len(redis)} of {len(want)}")
        on0 = k("get", "pods", "-A", "--field-selector", "spec.nodeName=sim-node-0", "-o", "name").split()
        want0 = [p for p in pods if p["spec"].get("nodeName") == "sim-node-0"]
        check(len(on0) == len(want0) and len(on0) > 0, f"field selector spec.nodeName=sim-node-0: {len(on0)}")

        described = k("describe", "node", "sim-node-0")
        check("Allocated resources:" in described, "describe node: Allocated resources")
        cpu_line = next((line for line in described.splitlines() if line.strip().startswith("cpu ")), "")
        match = re.search(r"cpu\s+(\S+)\s+\((\d+)%\)", cpu_line)
        check(match is not None and 0 < int(match.group(2)) <= 100, f"describe node: cpu requests {cpu_line.strip()}")
        check("Non-terminated Pods:" in described, "describe node: its pods")

        waiting = pending[0]
        why = k("describe", "pod", "-n", waiting["metadata"]["namespace"], waiting["metadata"]["name"])
        check(re.search(r"FailedScheduling .*0/3 nodes are available: .*Insufficient", why) is not None,
              "describe pod: the scheduler's reason in its events")

        check("No resources found" in subprocess.run(
            [kubectl, "--kubeconfig", kubeconfig, "get", "leases", "-A"], capture_output=True, text=True).stderr,
            "kubectl get leases -A answers (none yet)")
        out = subprocess.run([kubectl, "--kubeconfig", kubeconfig, "get", "noderesourcetopologies"],
                             capture_output=True, text=True)
        check(out.returncode == 0, "kubectl get noderesourcetopologies answers")
        if nodepack is not None:
            nrt_agent = nrt_checks(nodepack, kubeconfig, work, k)
    finally:
        if nrt_agent is not None:
            nrt_agent.terminate()
            nrt_agent.wait(timeout=10)
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    return summary()


def nrt_checks(nodepack, kubeconfig, work, k):
    """An agent exporting sim-node-0's NodeResourceTopology from the GB200-like shape."""
    with tarfile.open(os.path.join(FIXTURES, "numa-shapes", "gb200-like.tar.bz2")) as t:
        try:
            t.extractall(os.path.join(work, "host"), filter="data")
        except TypeError:  # a Python without extraction filters (before 3.11.4): our own archive
            t.extractall(os.path.join(work, "host"))
    (root,) = [os.path.join(work, "host", d) for d in os.listdir(os.path.join(work, "host"))]
    log = open(os.path.join(work, "agent.log"), "w")
    agent = subprocess.Popen(
        [nodepack, "agent", "--kubeconfig", kubeconfig, "--node-name", "sim-node-0", "--metrics-addr", "127.0.0.1:0",
         "--host-root", root, "--kubelet-root", os.path.join(root, "var/lib/kubelet"), "--reserved-cpus", "0-1,72-73",
         "--podresources-socket=", "--collectors.bpf=false", "--collectors.accounting=false", "--auth.mode=none",
         "--nrt.export", "--nrt.interval=1s", "--log-format", "text"], stdout=log, stderr=subprocess.STDOUT)
    nrt = None
    deadline = time.time() + 30
    while time.time() < deadline and agent.poll() is None:
        out = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "get", "noderesourcetopologies", "-o", "yaml"],
                             capture_output=True, text=True, timeout=30)
        items = yaml.safe_load(out.stdout or "{}").get("items") or [] if out.returncode == 0 else []
        nrt = next((i for i in items if i["metadata"]["name"] == "sim-node-0" and
                    i["metadata"].get("ownerReferences")), None)
        if nrt is not None:
            break
        time.sleep(0.2)
    if not check(nrt is not None, "kubectl get noderesourcetopologies -o yaml: sim-node-0's object"):
        print(open(os.path.join(work, "agent.log")).read()[-3000:])
        return agent
    check(nrt["apiVersion"] == "topology.node.k8s.io/v1alpha2", f"apiVersion {nrt['apiVersion']}")
    zones = {z["name"]: {r["name"]: r for r in z["resources"]} for z in nrt["zones"]}
    check(len(zones) == 34, f"34 zones, one per NUMA node ({len(zones)})")
    cpu0 = zones.get("node-0", {}).get("cpu", {})
    check((cpu0.get("capacity"), cpu0.get("allocatable"), cpu0.get("available")) == ("72", "70", "70"),
          f"node-0 cpu: 72 CPUs, 0-1 reserved, none handed out: {cpu0}")
    gpu_memory = zones.get("node-2", {}).get("memory", {})
    check(gpu_memory.get("capacity") == str(186 << 30) and zones["node-2"]["cpu"]["capacity"] == "0",
          f"node-2, a GPU's memory: 186 GiB and no CPUs: {zones.get('node-2')}")
    check(zones.get("node-3", {}).get("memory", {}).get("capacity") == "0", "node-3, a reserved GPU node: empty")
    check(nrt["metadata"]["ownerReferences"][0]["kind"] == "Node", "owned by its Node")
    table = k("get", "noderesourcetopologies").splitlines()
    check(len(table) == 2 and table[1].split()[0] == "sim-node-0", f"kubectl get noderesourcetopologies: {table}")
    return agent


if __name__ == "__main__":
    sys.exit(main())
