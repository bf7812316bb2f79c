#!/usr/bin/env python3
"""The agent's page in headless Chromium, served by a real agent over a fixed node (page_fixture.cpp:
an 8-NUMA-node host, a kubelet checkpoint pinning one container to CPUs 1 and 13, four pods): the
script must fetch the JSON endpoints and draw the requests, every pod and why it counts, and the
CPU map. Keeps a screenshot in OUTPUT_DIR.

    test_agent_page_chromium.py PAGE_FIXTURE OUTPUT_DIR

Skips (exit 77, loudly) without Chromium unless NODEPACK_REQUIRE_BROWSER=1.
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "web"))
from cdp import CdpError, Chromium, Page  # noqa: E402
from fixture_process import chromium_or_skip, start_fixture  # noqa: E402

failures = []


def check(condition, what, detail=""):
    print(("ok: " if condition else "FAIL: ") + what + (f": {detail}" if detail and not condition else ""))
    if not condition:
        failures.append(what)


def text(page, selector):
    return page.evaluate(f"(document.querySelector({selector!r}) || {{}}).textContent || null")


def flow(page, base, out):
    page.navigate(base + "/")
    page.wait_for("document.querySelectorAll('#pods tr').length === 4 && "
                  "document.querySelectorAll('.cpu').length === 16", what="the pods and the CPU map")
    # Requests against allocatable (see page_fixture.cpp for the sums).
    check(text(page, '[data-resource="cpu"] .pct') == "16.3%", "cpu requested 2.6 of 16 cores",
          text(page, '[data-resource="cpu"]'))
    check("2.60 cores of 16.00 cores requested, 0.10 cores by DaemonSets" in (text(page, '[data-resource="cpu"]') or ""),
          "cpu amounts and the DaemonSet part", text(page, '[data-resource="cpu"]'))
    check(text(page, '[data-resource="memory"] .pct') == "2.5%", "memory 1.625 GiB of 64 GiB",
          text(page, '[data-resource="memory"]'))
    check(text(page, '[data-resource="pods"] .pct') == "2.7%", "pods 3 of 110", text(page, '[data-resource="pods"]'))
    # Every pod, whether it counts and why not.
    rows = page.evaluate("[...document.querySelectorAll('#pods tr')].map(r => [r.dataset.pod, r.cells[3].textContent,"
                         " r.cells[4].textContent, r.cells[6].textContent])")
    by_pod = {r[0]: r[1:] for r in rows}
    check(by_pod.get("default/pinned", [None])[0:2] == ["yes", "2.00 cores"], "pinned counts 2 cores", str(rows))
    check(by_pod.get("default/web-0", [None])[0:2] == ["yes", "0.50 cores"], "web-0 counts 0.5 cores", str(rows))
    check(by_pod.get("nodepack/agent-n1", [None])[0] == "yes", "the DaemonSet pod counts", str(rows))
    done = by_pod.get("default/done", [None, None, ""])
    check(done[0] == "no" and "phase Succeeded" in done[2], "done does not count, and says why", str(done))
    check(rows[-1][0] == "default/done", "pods that do not count come last", str(rows))
    # The CPU map: CPUs 1 and 13 exclusive to the pinned container, the rest shared.
    exclusive = page.evaluate("[...document.querySelectorAll('.cpu.exclusive')].map(c => [c.dataset.cpu, c.title])")
    check(exclusive == [["1", "CPU 1: default/pinned/app"], ["13", "CPU 13: default/pinned/app"]],
          "CPUs 1 and 13 exclusive to default/pinned/app", str(exclusive))
    check(page.evaluate("document.querySelectorAll('.cpu.shared').length") == 14, "14 CPUs in the shared pool")
    check(page.evaluate("document.querySelectorAll('.zone').length") == 8, "8 NUMA nodes drawn")
    check(page.evaluate("document.querySelector('[data-numanode=\"6\"] .cpu.exclusive').dataset.cpu") == "13",
          "CPU 13 drawn in NUMA node 6")
    check("2 CPUs exclusive to containers" in (text(page, "#numa-summary") or ""), "NUMA summary",
          text(page, "#numa-summary"))
    check(text(page, "#node") == "n1", "the node's name in the header")
    check(not text(page, "#error"), "no refresh error", text(page, "#error"))
    check((text(page, "#updated") or "").startswith("updated "), "the time of the last refresh", text(page, "#updated"))
    check("no per-pod kernel series yet" in (text(page, "#tops") or ""),
          "the kernel view says why it is empty (no cgroups for these pods)", text(page, "#tops"))
    return page.screenshot(os.path.join(out, "agent_page.png"))


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    fixture, out = sys.argv[1], sys.argv[2]
    browser_path = chromium_or_skip("the agent page")
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="nodepack-agent-page-")
    proc = browser = None
    try:
        proc, port = start_fixture([fixture], work)
        browser = Chromium(browser_path, os.path.join(work, "profile"), os.path.join(work, "chromium.log"))
        page = Page(browser)
        try:
            print("screenshot: " + flow(page, f"http://127.0.0.1:{port}", out))
        except CdpError as e:
            check(False, "the page drew the node", str(e))
            page.screenshot(os.path.join(out, "agent_page_failure.png"))
        errors = [e["params"]["exceptionDetails"].get("exception", {}).get("description", "exception")
                  for e in browser.events if e.get("method") == "Runtime.exceptionThrown"]
        check(not errors, "no script errors", "; ".join(errors))
    finally:
        if browser:
            browser.close()
        if proc:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
