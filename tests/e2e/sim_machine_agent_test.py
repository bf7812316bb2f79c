#!/usr/bin/env python3
"""The agent reading a simulated node's machine and kubelet state, as the demo runs it.

    sim_machine_agent_test.py NODEPACK_SIM NODEPACK

nodepack-sim runs one node on the GB200-like machine shape (tests/fixtures/numa-shapes) with
--machines, filled to 75 % of its CPUs, without churn; its simulated kubelet keeps
cpu_manager_state, memory_manager_state and device-plugins/kubelet_internal_checkpoint. An agent
reads that machine (--host-root) and that kubelet directory (--kubelet-root). Checks that the
agent verifies all three files, and that what /debug/numa and numainfo_* say about memory and GPU
allocations is what the files hold: per container, the memory blocks and GPU ids; per NUMA node,
the memory reserved and the GPUs allocated.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request

from e2e_checks import check, summary  # the script's directory is on sys.path

SHAPES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "numa-shapes")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def metric_values(text, name, **labels):
    """numanode -> value of the series of `name` with these labels."""
    out = {}
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        series, value = line.rsplit(" ", 1)
        got = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if all(got.get(k) == v for k, v in labels.items()):
            out[got.get("numanode")] = float(value)
    return out


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    sim, nodepack = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="nodepack-simmachine-")
    machine = os.path.join(work, "machines", "sim-node-0")
    os.makedirs(machine)
    with tarfile.open(os.path.join(SHAPES, "gb200-like.tar.bz2")) as t:
        t.extractall(machine, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    os.symlink(os.path.join(machine, "gb200-like"), os.path.join(machine, "host"))
    kubelet = os.path.join(machine, "kubelet")
    kubeconfig = os.path.join(work, "kubeconfig")
    procs = []
    try:
        procs.append(subprocess.Popen(
            [sim, "--nodes", "1", "--pods-per-node", "12", "--churn-interval", "0", "--seed", "5", "--fill-cpu",
             "0.75", "--machines", os.path.join(work, "machines"), "--kubeconfig-out", kubeconfig],
            stdout=open(os.path.join(work, "sim.log"), "w"), stderr=subprocess.STDOUT))
        deadline = time.time() + 20
        while not (os.path.exists(kubeconfig) and os.path.getsize(kubeconfig) > 0):
            if time.time() > deadline or procs[0].poll() is not None:
                print("sim_machine_agent_test: nodepack-sim did not start:\n" + open(os.path.join(work, "sim.log")).read())
                return 1
            time.sleep(0.05)
        port = free_port()
        procs.append(subprocess.Popen(
            [nodepack, "agent", "--kubeconfig", kubeconfig, "--node-name", "sim-node-0",
             "--metrics-addr", f"127.0.0.1:{port}", "--host-root", os.path.join(machine, "host"),
             "--kubelet-root", kubelet, "--reserved-cpus", "0", "--podresources-socket=",
             "--collectors.bpf=false", "--collectors.accounting=false", "--auth.mode=none",
             "--resources", "cpu,memory,pods,nvidia.com/gpu", "--log-format", "text"],
            stdout=open(os.path.join(work, "agent.log"), "w"), stderr=subprocess.STDOUT))
        run_checks(f"http://127.0.0.1:{port}", kubelet, work)
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    return summary()


def run_checks(base, kubelet, work):
    # nodepack-sim writes its kubelets' files after it starts serving.
    files = [os.path.join(kubelet, f) for f in
             ("cpu_manager_state", "memory_manager_state", "device-plugins/kubelet_internal_checkpoint")]
    deadline = time.time() + 20
    while not all(os.path.exists(f) for f in files) and time.time() < deadline:
        time.sleep(0.05)
    if not check(all(os.path.exists(f) for f in files), "nodepack-sim wrote the kubelet's three files"):
        return
    memory = json.load(open(os.path.join(kubelet, "memory_manager_state")))
    devices = json.load(open(os.path.join(kubelet, "device-plugins", "kubelet_internal_checkpoint")))
    entries = devices["Data"]["PodDeviceEntries"] or []
    check(len(memory.get("entries", {})) > 0, f"the sim reserved memory for {len(memory.get('entries', {}))} pods")
    check(len(entries) > 0, f"the sim gave GPUs to {len(entries)} containers")

    # The agent reads the files once they are there; wait until it has all three, verified.
    debug = None
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            debug = json.loads(get(base + "/debug/numa"))
            files = {f["name"]: f for f in debug.get("files", [])}
            if all(files.get(n, {}).get("checksum") == "verified" for n in
                   ("cpu_manager_state", "memory_manager_state", "kubelet_internal_checkpoint")):
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.3)
    if not check(debug is not None, "/debug/numa answers"):
        print(open(os.path.join(work, "agent.log")).read()[-3000:])
        return
    files = {f["name"]: f for f in debug["files"]}
    for name in ("cpu_manager_state", "memory_manager_state", "kubelet_internal_checkpoint"):
        f = files.get(name, {})
        check(f.get("healthy") is True and f.get("checksum") == "verified",
              f"/debug/numa: {name} healthy, checksum verified ({f.get('status')}, {f.get('checksum')})")
    check(debug.get("memory_policy") == "Static", f"/debug/numa: memory policy Static ({debug.get('memory_policy')})")

    containers = {(c["pod_uid"], c["container"]): c for c in debug.get("containers", [])}
    for uid, by_container in memory.get("entries", {}).items():
        for name, blocks in by_container.items():
            want = sorted((b["type"], b["size"], tuple(b["numaAffinity"])) for b in blocks)
            c = containers.get((uid, name), {})
            got = sorted((b["type"], b["size"], tuple(b["numa_affinity"])) for b in c.get("memory", []))
            check(got == want, f"/debug/numa: {uid}/{name} memory {got} == the file's {want}")
    for e in entries:
        want = sorted(i for ids in e["DeviceIDs"].values() for i in ids)
        c = containers.get((e["PodUID"], e["ContainerName"]), {})
        got = sorted(i for d in c.get("devices", []) if d["resource"] == e["ResourceName"] for i in d["ids"])
        check(got == want, f"/debug/numa: {e['PodUID']}/{e['ContainerName']} GPUs {got} == the file's {want}")

    # Per NUMA node: memory reserved and GPUs allocated, in the metrics as in the files.
    metrics = get(base + "/metrics")
    reserved = {f"node{int(n):02d}": float(s["memoryMap"]["memory"]["reserved"])
                for n, s in memory["machineState"].items()}
    shown = metric_values(metrics, "numainfo_memory_bytes", type="allocation")
    check({k: v for k, v in shown.items() if v} == {k: v for k, v in reserved.items() if v},
          f"numainfo_memory_bytes allocation {shown} == reserved in memory_manager_state")
    gpus = {}
    for e in entries:
        for numa, ids in e["DeviceIDs"].items():
            key = f"node{int(numa):02d}"
            gpus[key] = gpus.get(key, 0) + len(ids)
    shown = metric_values(metrics, "numainfo_device_count", type="allocation", resource="nvidia.com/gpu")
    check({k: v for k, v in shown.items() if v} == gpus,
          f"numainfo_device_count allocation {shown} == the GPUs in kubelet_internal_checkpoint {gpus}")


if __name__ == "__main__":
    sys.exit(main())
