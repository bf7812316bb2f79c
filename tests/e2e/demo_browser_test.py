#!/usr/bin/env python3
"""The demo as a new user meets it: `scripts/run` from the source tree (build already done), run
for a minute, then every URL it printed must answer, and headless Chromium opens the aggregator's
page, an agent's page and the /web UI, keeping screenshots in OUTPUT_DIR and asserting what they
show: cluster CPU requested under 100 %, a NUMA CPU map with CPUs exclusive to containers, and,
where the demo can measure (root, BTF, cgroup v2), a kernel metric with a measured value on
sim-node-0's page and CPU used in the usage API. Ctrl-C (SIGINT) must then stop the demo and leave
no cgroup behind.

    demo_browser_test.py SOURCE_DIR BUILD_DIR OUTPUT_DIR

Skips (exit 77, loudly) without Chromium unless NODEPACK_REQUIRE_BROWSER=1.
"""
import base64
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "web"))
from cdp import CdpError, Chromium, Page  # noqa: E402
from fixture_process import chromium_or_skip  # noqa: E402

RUN_SECONDS = 60
failures = []


def check(ok, what, detail=""):
    print(("ok: " if ok else "FAIL: ") + what + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failures.append(what)
    return ok


def free_port_run(count):
    """A base port with `count` free ports after it (the demo's aggregator and agents)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count >= 65535:
            continue
        try:
            held = []
            for p in range(base, base + count):
                t = socket.socket()
                held.append(t)
                # As the demo's servers bind (asio's acceptor sets it): a port whose old
                # connections linger in TIME_WAIT is free for them, and so for this probe.
                t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                t.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for t in held:
                t.close()
    raise RuntimeError("no run of free ports")


def get(url, auth=None, timeout=10):
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(request, timeout=timeout) as r:
        return r.status, r.read()


def prometheus_value(prometheus, query):
    _, body = get(prometheus + "/api/v1/query?" + urllib.parse.urlencode({"query": query}))
    result = json.loads(body)["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def check_network(prometheus, collectors):
    """The demo's pods talk HTTP and DNS from pod IP to pod IP; Prometheus scraped what the agent
    of sim-node-0 counted."""
    if "topology" in collectors:
        n = prometheus_value(prometheus, 'sum(kpod_net_connections_total{peer_kind="pod",direction="outbound"})')
        check(n > 0, "Prometheus has pod-to-pod connections counted by sim-node-0's agent", str(n))
    if "http" in collectors:
        for status in ("2xx", "4xx", "5xx"):
            n = prometheus_value(prometheus, f'sum(kpod_http_requests_total{{direction="client",status_class="{status}"}})')
            check(n > 0, f"Prometheus has {status} HTTP requests counted on the client side", str(n))
    if "dns" in collectors:
        for rcode in ("NOERROR", "NXDOMAIN"):
            n = prometheus_value(prometheus, f'sum(kpod_dns_requests_total{{rcode="{rcode}"}})')
            check(n > 0, f"Prometheus has {rcode} DNS answers counted", str(n))


def network_collectors(build):
    """The network collectors this build's agent has (a build without BPF has none)."""
    out = subprocess.run([os.path.join(build, "cmd", "nodepack"), "agent", "--help"], capture_output=True,
                         text=True).stdout
    return [c for c in ("topology", "http", "dns") if f"--collector.{c}" in out]


def can_measure():
    if os.geteuid() != 0 or not os.path.exists("/sys/kernel/btf/vmlinux"):
        return False
    return "cgroup2" in open("/proc/self/mounts").read()


def demo_cgroups():
    out = []
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if os.path.isdir(root):
            out += [e for e in os.listdir(root) if e.startswith("nodepack-demo-")]
    return out


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    source, build, out = (os.path.realpath(a) for a in sys.argv[1:4])
    browser_path = chromium_or_skip("the demo")
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="nodepack-demo-test-")
    base = free_port_run(4)
    password = "demo-test-password"
    env = dict(os.environ, NODEPACK_BUILD_DIR=build, NODEPACK_DEMO_PORT=str(base),
               NODEPACK_DEMO_PROMETHEUS_PORT=str(free_port_run(1)), NODEPACK_DEMO_PASSWORD=password)
    log = open(os.path.join(work, "run.out"), "w+")
    demo = subprocess.Popen(["bash", os.path.join(source, "scripts", "run")], cwd=source, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    browser = None
    measured = can_measure()
    collectors = network_collectors(build)
    prometheus = f"http://127.0.0.1:{env['NODEPACK_DEMO_PROMETHEUS_PORT']}"
    try:
        deadline = time.monotonic() + 600  # a build that was not up to date
        text = ""
        while "logs:" not in text:
            if demo.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the demo did not start:\n" + open(log.name).read()[-3000:])
            time.sleep(0.5)
            text = open(log.name).read()
        started = time.monotonic()
        printed = text.splitlines()
        print("\n".join(printed))
        body = printed[printed.index(next(l for l in printed if l.startswith("nodepack demo is running"))):]
        check(len(printed) <= 20, "the demo prints everything in under 20 lines", str(len(printed)))
        check(any(("measured values" in l) == measured for l in body if "measured" in l),
              "the demo says whether it measures usage, and why not" if not measured else "the demo measures usage")
        time.sleep(max(0, RUN_SECONDS - (time.monotonic() - started)))

        # Every URL it printed answers (the usage API with the printed credentials).
        urls = sorted(set(u.rstrip("'") for l in body for u in re.findall(r"https?://[^\s']+", l)))
        check(len(urls) >= 8, "the demo printed its URLs", str(urls))
        for url in urls:
            try:
                status, _ = get(url, auth=f"demo:{password}" if "/api/" in url else None)
            except OSError as e:
                status = str(e)
            check(status == 200, f"{url} answers", str(status))

        browser = Chromium(browser_path, os.path.join(work, "profile"), os.path.join(work, "chromium.log"))
        page = Page(browser)
        aggregator = f"http://127.0.0.1:{base}"
        # The aggregator's page: the cluster is packed as real ones are, not over 100 %.
        page.navigate(aggregator + "/")
        cpu = page.wait_for("(document.getElementById('cluster-cpu') || {}).textContent", what="the cluster cpu")
        value = float(cpu.rstrip("%")) if re.fullmatch(r"[0-9.]+%", cpu or "") else None
        check(value is not None and 0 < value < 100, "cluster CPU requested is under 100 %", cpu)
        page.screenshot(os.path.join(out, "demo_aggregator.png"))

        # sim-node-1 runs on an 8-NUMA-node machine whose kubelet pins Guaranteed pods' CPUs.
        page.navigate(f"http://127.0.0.1:{base + 2}/")
        page.wait_for("document.querySelectorAll('.cpu').length > 0", what="the CPU map of sim-node-1")
        cells = page.evaluate("document.querySelectorAll('.cpu').length")
        pinned = page.evaluate("document.querySelectorAll('.cpu.exclusive').length")
        check(cells == 16, "sim-node-1's CPU map has its machine's 16 CPUs", str(cells))
        check(pinned >= 1, "some of sim-node-1's CPUs are exclusive to containers", str(pinned))
        page.screenshot(os.path.join(out, "demo_agent_numa.png"))

        # sim-node-0 runs on this machine; its pods' workloads are measured.
        page.navigate(f"http://127.0.0.1:{base + 1}/")
        page.wait_for("!!document.getElementById('kernel-summary')", what="sim-node-0's page")
        if measured:
            page.wait_for("document.querySelectorAll('#top-cpu tr').length > 0", timeout=30,
                          what="the kernel view of sim-node-0")
            top = page.evaluate("[...document.querySelectorAll('#top-cpu tr')].map(r => r.cells[1].textContent)")
            check(any(float(v) > 0 for v in top), "a pod of sim-node-0 with measured CPU on its page", str(top))
        else:
            print("not measured here (needs root, BTF and cgroup v2): the kernel view is not asserted")
        page.screenshot(os.path.join(out, "demo_agent_kernel.png"))

        # The usage web UI: log in, and the usage API it calls has CPU used per namespace.
        page.navigate(aggregator + "/web/login")
        page.wait_for("!!document.getElementById('user')", what="the login form")
        page.type_into("#user", "demo")
        page.type_into("#password", password)
        page.evaluate("document.querySelector('#login button[type=submit]').click(), true")
        page.wait_for("location.pathname !== '/web/login'", what="the page after login")
        # Who talks to whom on sim-node-0: Prometheus has the agent's connection, HTTP and DNS
        # series, and the aggregator's topology page draws pod-to-pod edges.
        if measured:
            check_network(prometheus, collectors)
            page.navigate(aggregator + "/web/topology")
            page.wait_for("document.querySelectorAll('#topology svg g.edge').length > 0", timeout=30,
                          what="edges on the topology page")
            targets = page.evaluate("[...document.querySelectorAll('#edges tr.edge-row')]"
                                    ".map(r => r.cells[1].textContent.trim())")
            # A workload of the cluster ("namespace/name"), not an address bucket ("10.0.0.0/24").
            check(any(re.fullmatch(r"[a-z][a-z0-9-]*/[a-z][a-z0-9-]*", t) for t in targets),
                  "the topology page shows connections between the demo's workloads", str(targets))
            page.screenshot(os.path.join(out, "demo_topology.png"))
        page.navigate(aggregator + "/web/stats/cpu/usage_rate")
        page.wait_for("document.readyState === 'complete'", what="the usage chart")
        time.sleep(2)
        page.screenshot(os.path.join(out, "demo_web.png"))
        if measured:
            totals = page.evaluate("""fetch('/api/cpu/usage_rate', {method: 'POST', headers: {'Content-Type':
                'application/json'}, body: JSON.stringify({agg: 'all-namespace'})}).then(r => r.json())
                .then(d => (d.totals || []).map(t => t.value))""")
            check(any(v > 0 for v in totals or []), "the usage API shows CPU used, measured", str(totals))
    except CdpError as e:
        check(False, "the browser flow ran to the end", str(e))
    finally:
        if browser:
            browser.close()
        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C, as a person stops it
        try:
            demo.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
            check(False, "Ctrl-C stops the demo within 30 s")
        time.sleep(1)
        check(not demo_cgroups(), "the demo left no cgroup behind", str(demo_cgroups()))
        namespaces = [n for n in (os.listdir("/run/netns") if os.path.isdir("/run/netns") else [])
                      if n.startswith("nodepack-demo-")]
        check(not namespaces, "the demo left no network namespace behind", str(namespaces))
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
