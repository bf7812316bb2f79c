#!/usr/bin/env python3
"""End-to-end per-pod kernel metrics: the real agent binary, real pods, real cgroups, real BPF.

    kpod_agent_e2e.py NODEPACK_BINARY NODEPACK_SIM_BINARY

nodepack-sim serves one node's pods. For three of them this test makes the cgroup v2 directories a
kubelet with the systemd driver and containerd would make (pod UID and container IDs from the API
server's pods), nested under a throwaway directory of the v2 tree so no real kubelet's cgroups are
touched. The agent runs as it does in the DaemonSet (host root /, the comprehensive profile), and
the test runs workloads inside the containers' cgroups:

- pod A, container 0: two busy loops pinned to one CPU (they wait for each other: run-queue
  latency, context switches, CPU time), and nothing else, so that the kernel's own accounting of
  those two tasks, from the moment each joined the cgroup to its exit, is what the agent must
  report for the container; container 1: 25 fork+exec of /bin/true; the rest idle;
- pod B: a TCP client in container 0 sends a known number of bytes to a server in container 1;
- pod C (its cgroups made after the agent started, as a new container's are): a process that
  touches more memory than its limit allows and is OOM-killed.

Then it reads the agent's /metrics and asserts each value on the right namespace/pod/container
(and nothing on the neighbours), and starts a real Prometheus scraping the agent to check the
same series arrive there with the same values and that the histograms work in PromQL.

Needs root, a BPF-capable kernel with BTF and a cgroup v2 tree; otherwise it skips loudly (exit
77), unless NODEPACK_REQUIRE_BPF=1 makes that a failure. Prometheus missing is a failure when
NODEPACK_REQUIRE_PROMETHEUS=1, else only that part is skipped. Every process started here is
stopped and every cgroup made here removed on exit.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "scripts", "lib"))
from pod_cgroups import cgroup2_root, containers, remove_tree, systemd_pod_dir  # noqa: E402

NODE = "sim-node-0"
EXECS = 25          # fork+exec of /bin/true in pod A's second container
SEND_BYTES = 4 << 20
SPIN_SECONDS = 1.5
SKIP = 77

from e2e_checks import check, failures, summary  # noqa: E402 (the script's directory is on sys.path)


def skip_or_fail(reason, require_env="NODEPACK_REQUIRE_BPF"):
    bar = "#" * 96
    if os.environ.get(require_env) == "1":
        print(f"{bar}\n## FAILED: {reason} ({require_env}=1 requires this test to run)\n{bar}", file=sys.stderr)
        sys.exit(1)
    print(f"{bar}\n## SKIPPED: {reason}\n## No per-pod kernel metric was checked end to end.\n{bar}", file=sys.stderr)
    sys.exit(SKIP)


# --- cgroups -------------------------------------------------------------------------------------

class MemoryLimit:
    """A memory limit for the OOM workload: memory.max in the container's v2 cgroup where the v2
    tree has the memory controller, else a v1 memory cgroup the process joins as well (hybrid
    hosts); the victim's identity stays its v2 cgroup either way."""

    def __init__(self, v2_root, v2_container, top, limit):
        self.v1_dir = None
        if "memory" in open(os.path.join(v2_root, "cgroup.controllers")).read().split():
            # Enable memory from the root down to the container's parent.
            rel = os.path.relpath(v2_container, v2_root).split("/")
            d = v2_root
            for part in rel:
                with open(os.path.join(d, "cgroup.subtree_control"), "w") as f:
                    f.write("+memory")
                d = os.path.join(d, part)
            for name, value in (("memory.max", limit), ("memory.swap.max", 0)):
                path = os.path.join(v2_container, name)
                if os.path.exists(path):
                    with open(path, "w") as f:
                        f.write(str(value))
            return
        v1 = "/sys/fs/cgroup/memory"
        if not os.path.exists(os.path.join(v1, "memory.limit_in_bytes")):
            raise RuntimeError("no memory controller in the v2 tree and no v1 memory hierarchy")
        self.v1_dir = os.path.join(v1, os.path.basename(top))
        os.makedirs(self.v1_dir, exist_ok=True)
        with open(os.path.join(self.v1_dir, "memory.limit_in_bytes"), "w") as f:
            f.write(str(limit))
        swap = os.path.join(self.v1_dir, "memory.memsw.limit_in_bytes")
        if os.path.exists(swap):
            with open(swap, "w") as f:
                f.write(str(limit))

    def procs_files(self):
        return [os.path.join(self.v1_dir, "cgroup.procs")] if self.v1_dir else []

    def remove(self):
        if self.v1_dir:
            remove_tree(self.v1_dir)


def run_in_cgroups(procs_files, code, *args, baseline=None, cpu=None, **kwargs):
    """Starts `python3 -c code` already inside the cgroups (it joins them between fork and exec,
    so its exec and everything after is charged to them, nothing before). With `cpu`, it is pinned
    to that CPU first, so it never migrates in the cgroup (the kernel counts a wait split by a
    migration in full, the agent from the last enqueue). With `baseline`, the task's
    /proc/self/schedstat is saved there right after it joined: where the cgroup's share of the
    task's CPU time, run-queue wait and runs begins."""
    def join():
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        for p in procs_files:
            with open(p, "w") as f:
                f.write("0")
        if baseline:
            with open("/proc/self/schedstat") as f:
                stat = f.read()
            with open(baseline, "w") as f:
                f.write(stat)
    return subprocess.Popen([sys.executable, "-c", code, *args], preexec_fn=join, **kwargs)


def schedstat_at_exit(proc):
    """The kernel's per-task totals of a child that has exited, over its whole life, exit
    included: CPU ns, run-queue wait ns, times run (/proc/<pid>/schedstat of the zombie, read
    before it is reaped). Measuring inside the task instead misses its exit, which on a busy CPU
    is several preemptions and tens of milliseconds, all of them charged to its cgroup."""
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    time.sleep(0.1)  # the exiting task's last switch-out follows the exit notification
    with open(f"/proc/{proc.pid}/schedstat") as f:
        totals = [int(x) for x in f.read().split()]
    proc.wait()
    return totals


def cgroup_cpu_seconds(cgroup_dir):
    """cpu.stat usage_usec: the kernel's CPU time of every task while it was in the cgroup."""
    with open(os.path.join(cgroup_dir, "cpu.stat")) as f:
        stat = dict(line.split() for line in f)
    return int(stat["usage_usec"]) / 1e6


# --- Prometheus text format ----------------------------------------------------------------------

LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """[(name, {label: value}, value)] for every sample line."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)", line)
        if m:
            labels = dict(LABEL.findall(m.group(2) or ""))
            out.append((m.group(1), labels, float(m.group(3))))
    return out


class Samples:
    def __init__(self, text):
        self.samples = parse_metrics(text)

    def select(self, name, **labels):
        return [(l, v) for n, l, v in self.samples if n == name and all(l.get(k) == x for k, x in labels.items())]

    def value(self, name, **labels):
        """The one sample's value, None when there is none (and a failure when there are more)."""
        found = self.select(name, **labels)
        if len(found) > 1:
            check(False, f"{name}{labels}: one series expected, {len(found)} found")
        return found[0][1] if found else None

    def total(self, name, **labels):
        return sum(v for _, v in self.select(name, **labels))


# --- the run -------------------------------------------------------------------------------------

# What the agent accepts for /metrics: a token the simulated API server vouches for and RBAC lets
# read it, as a cluster's Prometheus has (see ACCESS_POLICY).
SCRAPER_TOKEN = "e2e-scraper-token"
ACCESS_POLICY = {
    "identities": [{"token": SCRAPER_TOKEN, "user": "system:serviceaccount:monitoring:prometheus"}],
    "rules": [{"user": "system:serviceaccount:monitoring:prometheus", "verbs": ["get"],
               "nonResourceURLs": ["/metrics"]}],
}


def http_get(url, timeout=5):
    request = urllib.request.Request(url)
    if url.endswith("/metrics"):
        request.add_header("Authorization", "Bearer " + SCRAPER_TOKEN)
    with urllib.request.urlopen(request, timeout=timeout) as r:
        return r.read().decode()


def wait_until(what, predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except Exception:  # noqa: BLE001 - polled until the deadline
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {seconds}s waiting for {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pick_pods(pods):
    """A and B: running pods with at least two containers; C: another running pod."""
    running = [p for p in pods if p["status"].get("phase") == "Running"
               and all(c.get("containerID", "").startswith("containerd://")
                       for c in p["status"].get("containerStatuses", []))
               and len(p["status"].get("containerStatuses", [])) == len(p["spec"]["containers"])]
    multi = [p for p in running if len(p["spec"]["containers"]) >= 2]
    if len(multi) < 2:
        raise RuntimeError("the simulated node has fewer than two running multi-container pods")
    a, b = multi[0], multi[1]
    c = next(p for p in running if p is not a and p is not b)
    return a, b, c


# The loops measure nothing themselves: what counts is the kernel's accounting of each task from
# the moment it joined the cgroup (the schedstat saved by run_in_cgroups) to its end, exit
# included (schedstat_at_exit).
SPIN = f"""
import time
end = time.monotonic() + {SPIN_SECONDS}
while time.monotonic() < end:
    pass
"""

FORK_EXEC = f"""
import os
for _ in range({EXECS}):
    pid = os.fork()
    if pid == 0:
        os.execv("/bin/true", ["true"])
    os.waitpid(pid, 0)
"""

SERVER = """
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
n = 0
while True:
    b = c.recv(1 << 16)
    if not b:
        break
    n += len(b)
c.close()
print(n, flush=True)
"""

CLIENT = f"""
import socket, sys
c = socket.socket()
c.connect(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"x" * {SEND_BYTES})
c.shutdown(socket.SHUT_WR)
c.recv(1)
c.close()
"""

OOM = """
chunks = []
for _ in range(256):
    chunks.append(b"\\x5a" * (1 << 20))  # written, not just reserved
raise SystemExit(7)  # not killed: the limit did not hold
"""


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    nodepack, sim = (os.path.realpath(a) for a in sys.argv[1:3])
    if os.geteuid() != 0:
        skip_or_fail("not root: loading BPF programs and making cgroups needs root")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        skip_or_fail("the kernel has no BTF (/sys/kernel/btf/vmlinux): CO-RE programs cannot load")
    v2 = cgroup2_root()
    if v2 is None:
        skip_or_fail("no cgroup v2 tree is mounted")

    work = tempfile.mkdtemp(prefix="nodepack-kpod-e2e.")
    top = os.path.join(v2, f"nodepack-e2e-{os.getpid()}")
    procs, memory = [], None
    try:
        # --- the API server and its pods --------------------------------------------------------
        kubeconfig = os.path.join(work, "kubeconfig")
        access = os.path.join(work, "access.json")
        with open(access, "w") as f:
            json.dump(ACCESS_POLICY, f)
        procs.append(subprocess.Popen(
            [sim, "--listen", "127.0.0.1:0", "--nodes", "1", "--pods-per-node", "10", "--churn-interval", "0",
             "--seed", "20261203", "--access-policy", access, "--kubeconfig-out", kubeconfig],
            stdout=open(os.path.join(work, "sim.log"), "w"), stderr=subprocess.STDOUT))
        wait_until("nodepack-sim's kubeconfig", lambda: os.path.getsize(kubeconfig) > 0, 10)
        api = re.search(r"server:\s*(\S+)", open(kubeconfig).read()).group(1)
        pods = wait_until("the simulated pods", lambda: json.loads(http_get(
            api + "/api/v1/pods?fieldSelector=" + urllib.parse.quote("spec.nodeName=" + NODE)))["items"], 10)
        a, b, c = pick_pods(pods)
        ident = {id(p): (p["metadata"]["namespace"], p["metadata"]["name"]) for p in (a, b, c)}
        for p in (a, b, c):
            print(f"pod {'ABC'[[a, b, c].index(p)]}: {ident[id(p)][0]}/{ident[id(p)][1]} "
                  f"({p['status']['qosClass']}) containers {[n for n, _ in containers(p)]}")

        def container_dir(pod, index):
            name, cid = containers(pod)[index]
            return os.path.join(top, systemd_pod_dir(pod["status"]["qosClass"], pod["metadata"]["uid"]),
                                f"cri-containerd-{cid}.scope")

        def make_pod_cgroups(pod):
            for i in range(len(containers(pod))):
                os.makedirs(container_dir(pod, i))

        def labels(pod, index):
            ns, name = ident[id(pod)]
            return {"namespace": ns, "pod": name, "container": containers(pod)[index][0], "node": NODE}

        def procs_of(pod, index):
            return [os.path.join(container_dir(pod, index), "cgroup.procs")]

        make_pod_cgroups(a)
        make_pod_cgroups(b)

        # --- the agent, as the DaemonSet runs it ------------------------------------------------
        agent_log = os.path.join(work, "agent.log")
        procs.append(subprocess.Popen(
            [nodepack, "agent", "--kubeconfig", kubeconfig, "--node-name", NODE, "--metrics-addr", "127.0.0.1:0",
             "--host-root", "/", "--kubelet-root", os.path.join(work, "no-kubelet"), "--collectors.numa=false",
             "--profile", "comprehensive", "--log-format", "text"],
            stdout=open(agent_log, "w"), stderr=subprocess.STDOUT))
        addr = wait_until("the agent to listen", lambda: re.search(
            r"serving on (127\.0\.0\.1:\d+)", open(agent_log).read()).group(1), 30)
        wait_until("the agent to be ready", lambda: http_get(f"http://{addr}/readyz") is not None, 30)
        print(f"agent: {addr}")
        up = Samples(http_get(f"http://{addr}/metrics"))
        for collector in ("sched", "proc", "oom", "tcp", "syscall", "cgroupfs", "dns"):
            check(up.value("nodepack_collector_up", collector=collector) == 1, f"collector {collector} is up")

        # A container that starts after the agent: found when its first event names an unknown id.
        make_pod_cgroups(c)
        memory = MemoryLimit(v2, container_dir(c, 0), top, 32 << 20)

        # --- workloads --------------------------------------------------------------------------
        baselines = [os.path.join(work, f"spin-{i}.schedstat") for i in range(2)]
        spinners = [run_in_cgroups(procs_of(a, 0), SPIN, baseline=path, cpu=0) for path in baselines]
        forker = run_in_cgroups(procs_of(a, 1), FORK_EXEC)
        server = run_in_cgroups(procs_of(b, 1), SERVER, stdout=subprocess.PIPE, text=True)
        port = server.stdout.readline().strip()
        client = run_in_cgroups(procs_of(b, 0), CLIENT, port)
        client.wait(timeout=30)
        hog = run_in_cgroups(procs_of(c, 0) + memory.procs_files(), OOM)
        # Summed over the two loops, each from joining the cgroup to its exit: CPU ns, run-queue
        # wait ns, times run (switches to the task, which is what the agent's context switches
        # and run-queue waits count).
        kernel = [0, 0, 0]
        for p, path in zip(spinners, baselines):
            end = schedstat_at_exit(p)
            with open(path) as f:
                start = [int(x) for x in f.read().split()]
            kernel = [k + e - s for k, e, s in zip(kernel, end, start)]
        # Read after both ended: nothing else ever ran in that cgroup.
        kernel.append(cgroup_cpu_seconds(container_dir(a, 0)))
        forker.wait(timeout=60)
        received = int(server.stdout.readline().strip() or 0)
        server.wait(timeout=30)
        hog.wait(timeout=60)
        check(all(p.returncode == 0 for p in spinners + [forker, client, server]), "the workloads ran")
        check(received == SEND_BYTES, f"the server received {received} of {SEND_BYTES} bytes")
        check(hog.returncode == -signal.SIGKILL, f"the hog was OOM-killed (exit {hog.returncode})")

        # --- what the agent says ----------------------------------------------------------------
        text = http_get(f"http://{addr}/metrics")
        with open(os.path.join(work, "metrics.txt"), "w") as f:
            f.write(text)
        m = Samples(text)
        check_values(m, a, b, c, labels, kernel, os.path.exists(os.path.join(container_dir(a, 0), "pids.current")))
        prometheus_part(work, addr, m, labels(a, 0), labels(a, 1), procs)
        # Pod B ends: the kubelet removes its cgroups, then the API server deletes it.
        remove_tree(os.path.dirname(container_dir(b, 0)))
        deletion_part(addr, api, b, labels(b, 0))
    except Exception as e:  # noqa: BLE001 - a timeout or a broken step: reported with the logs below
        check(False, f"{type(e).__name__}: {e}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        remove_tree(top)
        if memory:
            memory.remove()
        if failures:
            for name in ("agent.log", "sim.log", "prometheus.log"):
                path = os.path.join(work, name)
                if os.path.exists(path):
                    print(f"---- {name} (last lines) ----")
                    print("".join(open(path).readlines()[-20:]))
        if os.environ.get("NODEPACK_E2E_KEEP") == "1":
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return summary()


# Tolerances of the comparisons with the kernel's own accounting of container A/0 (two tasks).
# Like is compared with like: every task that ever ran in that cgroup, each from the moment it
# joined to its exit, against what the agent reports for the cgroup; the load on the machine
# changes the figures themselves, not how well they agree. What remains:
SPIN_TASKS = 2
# - runs (switches to a task; schedstat's third field, the scheduler's own count, which over a
#   task's life equals its voluntary plus involuntary context switches), per task: a run between
#   joining and saving the baseline (a preemption in those microseconds) or after the zombie's
#   schedstat was read (a preemption in the last steps of exit) is the agent's and not ours: one
#   at each end at most. The other way, the sched_switch tracepoint the agent counts reaches its
#   handlers for slightly fewer switches than the scheduler counts in the same branch: 0 to 3
#   per task over a whole life on a shared, loaded machine, seen with perf as well and no agent
#   running. Four per task.
RUNS_SLACK = 4 * SPIN_TASKS
# - run-queue wait: 10 ms plus 5 % for the waits the two count differently (a task preempted on
#   its way to sleep is stamped by the agent, not by schedstat; waits split by a migration, which
#   the kernel counts in full and the agent from the last enqueue, cannot happen: the loops are
#   pinned before they join), and, for every run only one side counted, its wait: up to three
#   mean waits each (a wait on a saturated CPU is tens of milliseconds and varies).
WAIT_SLACK_S, WAIT_SLACK_RATIO, WAITS_PER_ODD_RUN = 0.010, 0.05, 3
# - CPU: the agent reports cpu.stat, which the test reads too once the tasks are gone: equal to
#   the microsecond it prints. cpu.stat against the tasks' own schedstat: the runtime accounted
#   between joining and saving the baseline belongs to the cgroup and not to our delta, at most a
#   scheduler tick per task (4 ms at HZ=250), plus cpu.stat's microsecond rounding.
CPU_TICK_S = 0.004
CPU_SLACK_S = 0.001 + CPU_TICK_S * SPIN_TASKS


def check_values(m, a, b, c, labels, kernel, pids_controller):
    a0, a1, b0, b1, c0 = labels(a, 0), labels(a, 1), labels(b, 0), labels(b, 1), labels(c, 0)
    idle_a = [labels(a, i) for i in range(2, len(containers(a)))]

    # CPU: two busy loops sharing one CPU, against the kernel's own accounting of them (see the
    # tolerances above).
    cpu_ns, wait_ns, kernel_runs, cgroup_cpu = kernel
    cpu, kernel_wait = cpu_ns / 1e9, wait_ns / 1e9
    print(f"the loops by the kernel's own accounting, joining to exit: {cpu:.3f} CPU s, {kernel_runs} runs "
          f"(context switches to them), {kernel_wait:.3f} s waiting; their cgroup's cpu.stat: {cgroup_cpu:.6f} s")
    check(kernel_runs >= 20, "the two loops did wait for each other")
    switches = m.value("kpod_cpu_context_switches_total", **a0) or 0
    check(abs(switches - kernel_runs) <= RUNS_SLACK,
          f"A/{a0['container']}: {switches:.0f} context switches (schedstat: run {kernel_runs} times, "
          f"±{RUNS_SLACK} allowed)")
    count = m.value("kpod_cpu_runqueue_latency_seconds_count", **a0) or 0
    total = m.value("kpod_cpu_runqueue_latency_seconds_sum", **a0) or 0
    check(abs(count - kernel_runs) <= RUNS_SLACK and count <= switches,
          f"A/{a0['container']}: {count:.0f} run-queue waits (schedstat: run {kernel_runs} times, "
          f"±{RUNS_SLACK} allowed)")
    mean_wait = kernel_wait / max(kernel_runs, 1)
    wait_slack = (WAIT_SLACK_S + WAIT_SLACK_RATIO * kernel_wait +
                  abs(count - kernel_runs) * WAITS_PER_ODD_RUN * mean_wait)
    check(abs(total - kernel_wait) <= wait_slack,
          f"A/{a0['container']}: waited {total:.3f} s in the run queue (schedstat: {kernel_wait:.3f} s, "
          f"±{wait_slack:.3f} s allowed)")
    buckets = sorted((float(l["le"]), v) for l, v in m.select("kpod_cpu_runqueue_latency_seconds_bucket", **a0))
    finite = [le for le, _ in buckets if le != float("inf")]
    # log2 buckets of nanoseconds: the first bound is 2^10 ns, about 1 µs.
    check(bool(finite) and finite[0] <= 1.1e-6 and finite[-1] >= 10,
          f"A/{a0['container']}: buckets span {finite[0] if finite else None} to {finite[-1] if finite else None} s")
    check(bool(buckets) and buckets[-1] == (float("inf"), count), "A: the +Inf bucket equals the count")
    check(all(x[1] <= y[1] for x, y in zip(buckets, buckets[1:])), "A: buckets are cumulative")
    used = m.value("kpod_cpu_usage_seconds_total", **a0) or 0
    check(abs(used - cgroup_cpu) <= 1e-6,
          f"A/{a0['container']}: {used:.6f} CPU seconds (the cgroup's cpu.stat: {cgroup_cpu:.6f})")
    check(abs(cgroup_cpu - cpu) <= CPU_SLACK_S,
          f"A/{a0['container']}: cpu.stat {cgroup_cpu:.6f} s is the loops' own {cpu:.6f} s "
          f"(±{CPU_SLACK_S:.3f} s allowed)")
    for idle in idle_a:
        s = m.value("kpod_cpu_context_switches_total", **idle) or 0
        check(s == 0, f"A/{idle['container']} (idle): {s:.0f} context switches")
        check((m.value("kpod_cpu_runqueue_latency_seconds_count", **idle) or 0) == 0,
              f"A/{idle['container']} (idle): no run-queue waits")

    # Processes: exactly what the workloads did.
    check(m.value("kpod_proc_execs_total", **a1) == EXECS + 1, f"A/{a1['container']}: {EXECS} + 1 execs")
    check(m.value("kpod_proc_forks_total", **a1) == EXECS, f"A/{a1['container']}: {EXECS} forks")
    check(m.value("kpod_proc_exits_total", **a1) == EXECS + 1, f"A/{a1['container']}: {EXECS} + 1 exits")
    check(m.value("kpod_proc_execs_total", **a0) == 2, f"A/{a0['container']}: 2 execs (the two loops)")
    check((m.value("kpod_proc_forks_total", **a0) or 0) == 0, f"A/{a0['container']}: no forks")
    for idle in idle_a:
        check((m.value("kpod_proc_execs_total", **idle) or 0) == 0, f"A/{idle['container']} (idle): no execs")

    # Network: B's client sent SEND_BYTES to B's server.
    sent = m.value("kpod_net_tcp_bytes_sent_total", **b0) or 0
    got = m.value("kpod_net_tcp_bytes_received_total", **b1) or 0
    check(SEND_BYTES <= sent <= SEND_BYTES + 16 * 65536, f"B/{b0['container']}: sent {sent:.0f} bytes")
    check(got == sent, f"B/{b1['container']}: received {got:.0f} bytes, what its neighbour sent")
    check((m.value("kpod_net_tcp_bytes_sent_total", **b1) or 0) == 0, f"B/{b1['container']}: sent no payload")
    check(m.value("kpod_net_tcp_connections_total", **b0) == 1, f"B/{b0['container']}: 1 connection (active)")
    check(m.value("kpod_net_tcp_connections_total", **b1) == 1, f"B/{b1['container']}: 1 connection (passive)")
    rtt = m.value("kpod_net_tcp_rtt_seconds_count", **b0) or 0
    check(rtt > 0, f"B/{b0['container']}: {rtt:.0f} RTT samples")
    for other in (a0, a1, c0):
        check(m.total("kpod_net_tcp_bytes_sent_total", pod=other["pod"]) == 0, f"{other['pod']}: no TCP bytes sent")
    check(m.value("kpod_syscall_count_total", syscall="connect", **b0) == 1, f"B/{b0['container']}: 1 connect()")
    check(m.value("kpod_syscall_count_total", syscall="connect", **a0) is None,
          f"A/{a0['container']}: no connect()")
    lat = m.value("kpod_syscall_latency_seconds_count", syscall="connect", **b0)
    check(lat == 1, f"B/{b0['container']}: connect() latency observed once")

    # Memory: C's hog was OOM-killed, charged to C's container only.
    check(m.value("kpod_mem_oom_kills_total", **c0) == 1, f"C/{c0['container']}: 1 OOM kill")
    for other in (a0, a1, b0, b1):
        check(m.total("kpod_mem_oom_kills_total", pod=other["pod"]) == 0, f"{other['pod']}: no OOM kill")
    # pids.current exists only where the v2 tree has the pids controller (not on hybrid hosts).
    pids = m.value("kpod_pids_current", **a0)
    check(pids == (0 if pids_controller else None), f"A/{a0['container']}: processes left: {pids}")

    # The node's other pods have no cgroups here: nothing from the kernel may be charged to them
    # (kpod_container_restarts comes from the API, for every pod).
    ours = {a0["pod"], b0["pod"], c0["pod"]}
    strays = sorted({l["pod"] for n, l, _ in m.samples
                     if n.startswith("kpod_") and n != "kpod_container_restarts" and l.get("pod") not in (None, *ours)})
    check(not strays, f"no kpod_ series for pods without cgroups (found {strays})")


def deletion_part(addr, api, pod, b0):
    """After a pod's deletion its series are exported once more, with their last values, by the
    scrape whose cgroup walk finds its cgroups gone, and never again; its map entries go too."""
    def scrape():
        return Samples(http_get(f"http://{addr}/metrics"))

    def tcp_entries(m):
        return {l["map"]: v for l, v in m.select("nodepack_bpf_map_entries", collector="tcp")}

    before = scrape()
    live = before.value("nodepack_cgroup_resolver_pod_cgroups")
    sent = before.value("kpod_net_tcp_bytes_sent_total", **b0)
    entries = tcp_entries(before)
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    request = urllib.request.Request(f"{api}/api/v1/namespaces/{ns}/pods/{name}", method="DELETE")
    with urllib.request.urlopen(request, timeout=5) as r:
        check(r.status == 200, f"the API server deleted pod {ns}/{name}")
    cgroups = 1 + len(containers(pod))

    def walked():
        m = scrape()
        return m if m.value("nodepack_cgroup_resolver_pod_cgroups") == live - cgroups else None
    last = wait_until("the agent to walk the cgroups after the deletion", walked, 15)
    check(last.value("kpod_net_tcp_bytes_sent_total", **b0) == sent,
          f"B/{b0['container']}: the scrape after the deletion still has its last value ({sent:.0f} bytes)")
    after = scrape()
    check(not after.select("kpod_net_tcp_bytes_sent_total", pod=name) and
          not [l for n, l, _ in after.samples if n.startswith("kpod_") and l.get("pod") == name],
          f"B: no kpod_ series for {name} after that scrape")
    remaining = tcp_entries(after)
    check(sum(remaining.values()) < sum(entries.values()),
          f"B: its tcp map entries were deleted ({entries} before, {remaining} after)")


def prometheus_part(work, addr, m, a0, a1, procs):
    if shutil.which("prometheus") is None:
        if os.environ.get("NODEPACK_REQUIRE_PROMETHEUS") == "1":
            check(False, "prometheus is installed (NODEPACK_REQUIRE_PROMETHEUS=1)")
        else:
            print("## SKIPPED: prometheus not found; the scrape by a real Prometheus was not checked", file=sys.stderr)
        return
    port = free_port()
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global: {scrape_interval: 1s, scrape_timeout: 900ms}\n"
                "scrape_configs:\n"
                f"  - job_name: nodepack-agent\n    honor_labels: true\n"
                f"    authorization: {{credentials: '{SCRAPER_TOKEN}'}}\n"
                f"    static_configs: [{{targets: ['{addr}']}}]\n")
    procs.append(subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={work}/prometheus-data",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=open(os.path.join(work, "prometheus.log"), "w"), stderr=subprocess.STDOUT))
    base = f"http://127.0.0.1:{port}"

    def query(expr):
        body = json.loads(http_get(base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
        return [(r["metric"], float(r["value"][1])) for r in body["data"]["result"]]

    def sel(l):
        return ",".join(f'{k}="{v}"' for k, v in l.items())

    execs = wait_until("Prometheus to scrape the agent",
                       lambda: query(f"kpod_proc_execs_total{{{sel(a1)}}}"), 30)
    check(len(execs) == 1 and execs[0][1] == EXECS + 1,
          f"Prometheus: kpod_proc_execs_total{{{sel(a1)}}} = {execs[0][1] if execs else None}")
    count = query(f"kpod_cpu_runqueue_latency_seconds_count{{{sel(a0)}}}")
    want = m.value("kpod_cpu_runqueue_latency_seconds_count", **a0)
    # Later scrapes may add a wait or two (the pod's cgroups stay), never fewer.
    check(len(count) == 1 and want <= count[0][1] <= want + 5,
          f"Prometheus: run-queue wait count {count[0][1] if count else None} (agent said {want})")
    p99 = query(f"histogram_quantile(0.99, kpod_cpu_runqueue_latency_seconds_bucket{{{sel(a0)}}})")
    check(len(p99) == 1 and 0 < p99[0][1] <= 10,
          f"Prometheus: 99th percentile run-queue wait {p99[0][1] if p99 else None} s")
    # Stopped here: the deletion check that follows must be the only one scraping the agent.
    prometheus = procs.pop()
    prometheus.terminate()
    prometheus.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
