#!/usr/bin/env python3
"""kubectl against nodepack-sim: the simulator speaks the real protocol well enough that a person
can look at the demo cluster the way they look at any cluster.

    kubectl_sim_test.py NODEPACK_SIM

Checks `kubectl get pods|nodes` (Table columns, -o wide, label and field selectors), `kubectl
describe node` (allocated resources computed by kubectl from the pods), `kubectl describe pod` of a
pod that fits nowhere (the scheduler's message), and that the other kinds answer (leases,
noderesourcetopologies). Needs kubectl.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    sim = sys.argv[1]
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("kubectl_sim_test: kubectl not found")
        return 1
    work = tempfile.mkdtemp(prefix="nodepack-kubectl-")
    kubeconfig = os.path.join(work, "kubeconfig")
    proc = subprocess.Popen([sim, "--nodes", "3", "--pods-per-node", "12", "--churn-interval", "0", "--seed", "1",
                             "--kubeconfig-out", kubeconfig], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
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
        check(re.match(r"10\.244\.\d+\.\d+$", bound[6]) is not None and bound[7].startswith("sim-node-"),
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
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
