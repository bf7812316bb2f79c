"""Pod-shaped cgroup v2 directories, as a kubelet with the systemd driver and containerd makes
them, for pods the simulator serves: the demo's workloads and the end-to-end tests put processes
in them, and the agent attributes what the kernel sees to the pods through them."""
import os
import subprocess
import sys
import time


def cgroup2_root():
    """The v2 tree: /sys/fs/cgroup on a pure v2 host, its `unified` child on a hybrid one."""
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            mounts[left.split()[4]] = right.split()[0]
    for path in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if mounts.get(path) == "cgroup2":
            return path
    return next((p for p, t in mounts.items() if t == "cgroup2"), None)


def systemd_pod_dir(qos, uid):
    # kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid with underscores>.slice;
    # Guaranteed pods sit directly under kubepods.slice.
    uid_ = uid.replace("-", "_")
    if qos == "Guaranteed":
        return f"kubepods.slice/kubepods-pod{uid_}.slice"
    q = qos.lower()
    return f"kubepods.slice/kubepods-{q}.slice/kubepods-{q}-pod{uid_}.slice"


def containers(pod):
    """[(name, container id hex)] in spec order."""
    ids = {s["name"]: s["containerID"].split("://", 1)[1] for s in pod["status"]["containerStatuses"]}
    return [(c["name"], ids[c["name"]]) for c in pod["spec"]["containers"]]


def container_dir(top, pod, index):
    """The container's cgroup under `top` (a throwaway directory of the v2 tree)."""
    _, cid = containers(pod)[index]
    return os.path.join(top, systemd_pod_dir(pod["status"]["qosClass"], pod["metadata"]["uid"]),
                        f"cri-containerd-{cid}.scope")


def is_running_with_ids(pod):
    """Running, and every container has a containerd id (the ones the kernel side can match)."""
    statuses = pod["status"].get("containerStatuses", [])
    return (pod["status"].get("phase") == "Running" and len(statuses) == len(pod["spec"]["containers"])
            and all(s.get("containerID", "").startswith("containerd://") for s in statuses))


def run_in_cgroups(procs_files, code, *args, preexec=None, **kwargs):
    """Starts `python3 -c code` already inside the cgroups: it joins them between fork and exec,
    so its exec and everything after is charged to them, nothing before. `preexec` runs after."""
    def join():
        for p in procs_files:
            with open(p, "w") as f:
                f.write("0")
        if preexec:
            preexec()
    return subprocess.Popen([sys.executable, "-c", code, *args], preexec_fn=join, **kwargs)


def remove_tree(path):
    """rmdir children first; cgroup directories cannot be removed any other way."""
    if not os.path.isdir(path):
        return
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            remove_tree(entry.path)
    for _ in range(50):  # a killed process leaves its cgroup a moment after it is reaped
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)
    print(f"warning: could not remove {path}", file=sys.stderr)
