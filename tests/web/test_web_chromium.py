#!/usr/bin/env python3
"""The web UI in headless Chromium, served by the real aggregator (users file, usage API) over a
real Prometheus loaded with known data (web_fixture.py): log in (a real form POST), open charts and
check the drawn series point by point, open the accounting table and check its figures, download
the CSV and check its bytes, see API errors shown, log out, see failed logins rate-limited.
Screenshots (PNG) are kept in OUTPUT_DIR.

    test_web_chromium.py WEB_FIXTURE OUTPUT_DIR

Skips (exit 77, loudly) without Chromium unless NODEPACK_REQUIRE_BROWSER=1, and without Prometheus
unless NODEPACK_REQUIRE_PROMETHEUS=1.

The expected numbers, by hand from web_fixture.py (team-a: web-0 = app 0.25 + sidecar 0.05 cores
used, 0.5 + 0.1 requested, 1 + 0.5 GiB used, 2 + 0.5 GiB requested; worker-0 1.5 cores used,
request 1 core until 01:30 then 2, 2 GiB used, 1 GiB requested, 1 GPU; team-b: db-0 0.5 cores
used, 1 requested, 4 GiB used and requested):
- cpu/usage_rate in team-a from 01:00 to 02:00, 300 points 12 s apart: web-0 300m, worker-0 1500m;
  requests web-0 600m, worker-0 1000m before 01:30 and 2000m from 01:30. Means over the hour:
  web-0 300m of 600m (50%), worker-0 1500m of 1500m (100%).
- memory/usage in all namespaces: team-a 3.5 GiB, team-b 4 GiB (requests 3.5 and 4 GiB).
- accounting 00:00-02:00 by namespace: team-a CPU used 1.8 cores x 2 h = 3.6, requested
  1.2 + 1.5 + 1.0 = 3.7, billable 1.0 + 0.2 + (1.5 x 1.5 h + 2 x 0.5 h) = 4.45; memory used 7,
  requested 7, billable 4 + 1 + 4 = 9; GPU 2. team-b 1, 2, 2; 8, 8, 8; 0.
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_process  # noqa: E402
from fixture_process import check, failures  # noqa: E402
from cdp import CdpError, Chromium, Page  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
T0 = 1767225600  # 2026-01-01T00:00:00Z
GIB = 1 << 30

def close(a, b, tolerance=1e-6):
    return a is not None and b is not None and abs(float(a) - float(b)) <= tolerance * max(1.0, abs(float(b)))


def skip(message, require_var):
    if os.environ.get(require_var) == "1":
        print("FAIL: %s, and %s=1" % (message, require_var), file=sys.stderr)
        sys.exit(1)
    bar = "#" * 90
    print("%s\n## SKIPPED: %s\n## Set %s=1 to make this a failure.\n%s" % (bar, message, require_var, bar),
          file=sys.stderr)
    sys.exit(77)


def find_browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def start_fixture(binary, prometheus_url, work):
    users = os.path.join(work, "users")
    fixture_process.write_users(users, [("alice", ""), ("bob", ":team-b")])  # alice every namespace, bob team-b
    # Three failures per minute, so that the test can see the form refuse a fourth.
    return fixture_process.start_fixture([binary, "--prometheus-url=" + prometheus_url, "--auth.users-file=" + users,
                                          "--auth.max-failures=3"], work, seconds=20)


def series(page):
    return page.evaluate("""[...document.querySelectorAll('#chart path.series')].map(p => ({
        group: p.dataset.group, kind: p.dataset.kind, d: p.getAttribute('d'),
        points: p.dataset.points.split(' ').map(x => x.split(':').map(Number))}))""")


def wait_ready(page, selector, what):
    state = page.wait_for("(() => { const e = document.querySelector(%s); return e && ['ready', 'error']"
                          ".includes(e.dataset.state) ? e.dataset.state : null; })()" % json.dumps(selector),
                          timeout=30, what=what)
    if state != "ready":
        check(False, what, "the page shows: " + str(page.evaluate("document.getElementById('error').textContent")))
    return state == "ready"


def flow(page, base, out, downloads):
    shots = []

    # --- Login ---------------------------------------------------------------------------------
    page.navigate(base + "/web/accounting")
    page.wait_for("location.pathname === '/web/login' && document.readyState === 'complete'", what="the login form")
    check(page.evaluate("location.search") == "?next=/web/accounting", "a page behind the login redirects to the form",
          page.evaluate("location.href"))
    shots.append(page.screenshot(os.path.join(out, "web_login.png")))
    page.type_into("#user", "alice")
    page.type_into("#password", "wrong")
    page.evaluate("document.querySelector('#login button[type=submit]').click(), true")
    page.wait_for("document.readyState === 'complete' && !!document.getElementById('error')", what="the login error")
    check(page.evaluate("document.getElementById('error').textContent") == "wrong user name or password",
          "a wrong password is shown on the form", page.evaluate("document.getElementById('error').textContent"))
    check(page.evaluate("document.getElementById('user').value") == "alice", "the user name is kept after a failure")
    page.type_into("#password", "secret")
    page.evaluate("document.querySelector('#login button[type=submit]').click(), true")
    page.wait_for("location.pathname === '/web/accounting'", what="the page after login")
    check(True, "logging in goes back to the page that asked for it")
    cookies = [c for c in page.send("Network.getCookies", {"urls": [base]})["cookies"] if c["name"] == "nodepack_session"]
    check(len(cookies) == 1 and cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict" and cookies[0]["path"] == "/",
          "the session cookie is HttpOnly, SameSite=Strict, Path=/", json.dumps(cookies))
    check("nodepack_session" not in page.evaluate("document.cookie"), "scripts cannot read the session cookie")

    # --- A chart of one namespace, per pod -------------------------------------------------------
    page.navigate(base + "/web/stats/cpu/usage_rate/team-a?from=2026-01-01T01:00:00Z&to=2026-01-01T02:00:00Z")
    if wait_ready(page, "#chart", "the cpu/usage_rate chart of team-a loads"):
        drawn = {(s["group"], s["kind"]): s for s in series(page)}
        check(sorted(drawn) == [("web-0", "request"), ("web-0", "usage"), ("worker-0", "request"), ("worker-0", "usage")],
              "one usage and one request line per pod of team-a", str(sorted(drawn)))
        expected_times = [T0 + 3600 + 12 * i for i in range(300)]

        def expect_line(key, value_at):
            s = drawn.get(key)
            if s is None:
                return
            times = [p[0] for p in s["points"]]
            check(times == expected_times, "%s %s has 300 points 12 s apart from 01:00" % key,
                  "%d points, first %s" % (len(times), times[:2]))
            bad = [(t, v) for t, v in s["points"] if not close(v, value_at(t))]
            check(not bad, "%s %s values" % key, "first wrong: %s" % bad[:3])
            check(s["d"].count("M") == 1, "%s %s is drawn without gaps" % key)

        expect_line(("web-0", "usage"), lambda t: 300)
        expect_line(("worker-0", "usage"), lambda t: 1500)
        expect_line(("web-0", "request"), lambda t: 600)
        expect_line(("worker-0", "request"), lambda t: 1000 if t < T0 + 5400 else 2000)
        rows = page.evaluate("""[...document.querySelectorAll('#summary tbody tr')].map(r =>
            [...r.cells].map(c => ({text: c.textContent, value: c.dataset.value})))""")
        table = {r[0]["text"]: r for r in rows}
        check(sorted(table) == ["web-0", "worker-0"], "the summary has a row per pod", str(sorted(table)))
        if sorted(table) == ["web-0", "worker-0"]:
            w, k = table["web-0"], table["worker-0"]
            check(close(w[1]["value"], 300) and w[1]["text"] == "300m", "web-0 mean usage 300m", str(w))
            check(close(w[3]["value"], 600) and w[4]["text"] == "50%", "web-0 mean request 600m, 50% used", str(w))
            check(close(k[1]["value"], 1500) and k[1]["text"] == "1.5 cores", "worker-0 mean usage 1.5 cores", str(k))
            check(close(k[3]["value"], 1500) and k[4]["text"] == "100%", "worker-0 mean request 1.5 cores, 100%", str(k))
        options = page.evaluate("[...document.querySelectorAll('#namespace-select option')].map(o => o.value)")
        check(options == ["", "team-a", "team-b", "team-c"], "the namespace selector lists the namespaces with data",
              str(options))
        check(page.evaluate("document.getElementById('from').value") == "2026-01-01T01:00" and
              page.evaluate("document.getElementById('to').value") == "2026-01-01T02:00",
              "the custom range shows the page's range")
        shots.append(page.screenshot(os.path.join(out, "web_chart_namespace.png")))

    # --- A namespace with a request but no usage still has its line and its row ---------------
    page.navigate(base + "/web/stats/cpu/usage_rate?from=2026-01-01T01:00:00Z&to=2026-01-01T02:00:00Z")
    if wait_ready(page, "#chart", "the cpu/usage_rate chart of all namespaces loads"):
        drawn = {(s["group"], s["kind"]): s for s in series(page)}
        check(sorted(drawn) == [("team-a", "request"), ("team-a", "usage"), ("team-b", "request"), ("team-b", "usage"),
                                ("team-c", "request")], "team-c has a request line and no usage line", str(sorted(drawn)))
        for key, value in {("team-a", "usage"): 1800, ("team-b", "usage"): 500, ("team-b", "request"): 1000,
                           ("team-c", "request"): 250}.items():
            if key in drawn:
                bad = [(t, v) for t, v in drawn[key]["points"] if not close(v, value)]
                check(len(drawn[key]["points"]) == 300 and not bad, "%s %s is %gm throughout" % (key + (value,)),
                      str(bad[:3]))
        rows = page.evaluate("[...document.querySelectorAll('#summary tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
        check(rows == [["team-a", "1.8 cores", "1.8 cores", "2.1 cores", "85.7%"],
                       ["team-b", "500m", "500m", "1 core", "50%"],
                       ["team-c", "\u2013", "\u2013", "250m", "\u2013"]],
              "the per-namespace summary (team-a requests 0.6 + 1.5 cores on average)", str(rows))

    # --- A chart of every namespace, then the namespace selector -------------------------------
    page.navigate(base + "/web/stats/memory/usage?from=2026-01-01T01:00:00Z&to=2026-01-01T02:00:00Z")
    if wait_ready(page, "#chart", "the memory/usage chart of all namespaces loads"):
        drawn = {(s["group"], s["kind"]): s for s in series(page)}
        check(sorted(drawn) == [("team-a", "request"), ("team-a", "usage"), ("team-b", "request"), ("team-b", "usage")],
              "one usage and one request line per namespace", str(sorted(drawn)))
        for key, value in {("team-a", "usage"): 3.5 * GIB, ("team-a", "request"): 3.5 * GIB,
                           ("team-b", "usage"): 4 * GIB, ("team-b", "request"): 4 * GIB}.items():
            if key in drawn:
                bad = [(t, v) for t, v in drawn[key]["points"] if not close(v, value)]
                check(len(drawn[key]["points"]) == 300 and not bad, "%s %s is %g GiB throughout" % (key + (value / GIB,)),
                      str(bad[:3]))
        labels = page.evaluate("[...document.querySelectorAll('#chart .axis.y text')].map(t => t.textContent)")
        check(labels[:1] == ["0 GiB"] and any(label.endswith("GiB") for label in labels), "the value axis is in GiB",
              str(labels))
        shots.append(page.screenshot(os.path.join(out, "web_chart_all.png")))
        page.evaluate("(() => { const s = document.getElementById('namespace-select'); s.value = 'team-b';"
                      " s.dispatchEvent(new Event('change')); return true; })()")
        page.wait_for("location.pathname === '/web/stats/memory/usage/team-b'", what="the team-b chart")
        check(page.evaluate("location.search") == "?from=2026-01-01T01%3A00%3A00Z&to=2026-01-01T02%3A00%3A00Z",
              "choosing a namespace keeps the range", page.evaluate("location.search"))
        if wait_ready(page, "#chart", "the memory/usage chart of team-b loads"):
            groups = sorted({s["group"] for s in series(page)})
            check(groups == ["db-0"], "team-b's chart has its one pod", str(groups))

    # --- Accounting, its CSV -------------------------------------------------------------------
    page.navigate(base + "/web/accounting?from=2026-01-01T00:00:00Z&to=2026-01-01T02:00:00Z")
    if wait_ready(page, "#accounting", "the accounting table loads"):
        rows = page.evaluate("""[...document.querySelectorAll('#accounting tbody tr, #accounting tfoot tr')].map(r =>
            [...r.cells].map(c => c.dataset.value === undefined ? c.textContent : Number(c.dataset.value)))""")
        expected = [["team-a", 3.6, 3.7, 4.45, 7, 7, 9, 2], ["team-b", 1, 2, 2, 8, 8, 8, 0],
                    ["Total", 4.6, 5.7, 6.45, 15, 15, 17, 2]]
        same = len(rows) == 3 and all(r[0] == e[0] and all(close(a, b) for a, b in zip(r[1:], e[1:])) and len(r) == 8
                                      for r, e in zip(rows, expected))
        check(same, "the accounting table has the hand-computed figures", json.dumps(rows))
        text = page.evaluate("[...document.querySelectorAll('#accounting tbody tr:first-child td')].map(c => c.textContent)")
        check(text == ["team-a", "3.600", "3.700", "4.450", "7.000", "7.000", "9.000", "2.000"],
              "figures are shown with three decimals", str(text))
        shots.append(page.screenshot(os.path.join(out, "web_accounting.png")))
        page.evaluate("document.getElementById('download-csv').click(), true")
        deadline = time.monotonic() + 20
        files = []
        while time.monotonic() < deadline:
            files = [f for f in glob.glob(os.path.join(downloads, "*")) if not f.endswith(".crdownload")]
            if files:
                break
            time.sleep(0.05)  # poll interval
        check([os.path.basename(f) for f in files] == ["nodepack-accounting-2026-01-01T00-00-00Z-2026-01-01T02-00-00Z.csv"],
              "Download CSV saves the API's file", str(files))
        if files:
            with open(files[0]) as f:
                csv = f.read()
            check(csv == "namespace,cpu_core_hours_used,cpu_core_hours_requested,cpu_core_hours_billable,"
                  "memory_gib_hours_used,memory_gib_hours_requested,memory_gib_hours_billable,gpu_hours\n"
                  "team-a,3.600000,3.700000,4.450000,7.000000,7.000000,9.000000,2.000000\n"
                  "team-b,1.000000,2.000000,2.000000,8.000000,8.000000,8.000000,0.000000\n",
                  "the CSV has the hand-computed figures", repr(csv))
            shutil.copy(files[0], os.path.join(out, "web_accounting.csv"))
        page.evaluate("(() => { const s = document.getElementById('by'); s.value = 'pod';"
                      " s.dispatchEvent(new Event('change')); return true; })()")
        page.wait_for("document.querySelectorAll('#accounting tbody tr').length === 3 &&"
                      " document.getElementById('accounting').dataset.state === 'ready'", what="the per-pod table")
        rows = page.evaluate("""[...document.querySelectorAll('#accounting tbody tr')].map(r =>
            [...r.cells].map(c => c.dataset.value === undefined ? c.textContent : Number(c.dataset.value)))""")
        expected = [["team-a", "web-0", 0.6, 1.2, 1.2, 3, 5, 5, 0], ["team-a", "worker-0", 3, 2.5, 3.25, 4, 2, 4, 2],
                    ["team-b", "db-0", 1, 2, 2, 8, 8, 8, 0]]
        same = len(rows) == 3 and all(r[:2] == e[:2] and all(close(a, b) for a, b in zip(r[2:], e[2:])) and len(r) == 9
                                      for r, e in zip(rows, expected))
        check(same, "the per-pod accounting table has the hand-computed figures", json.dumps(rows))
        check(page.evaluate("location.search").startswith("?from=") and "by=pod" in page.evaluate("location.search"),
              "the table's choices are in the address")

    # --- API errors are shown -------------------------------------------------------------------
    page.navigate(base + "/web/accounting?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z")
    page.wait_for(
        "document.getElementById('accounting') && document.getElementById('accounting').dataset.state === 'error'",
        what="the error of an inverted range")
    error = page.evaluate("(() => { const e = document.getElementById('error'); return e.hidden ? '' : e.textContent; })()")
    check("(HTTP 400)" in error and "is not after" in error, "an API error is shown with its reason", repr(error))
    page.navigate(base + "/web/stats/filesystem/inodes/team-a?from=2026-01-01T01:00:00Z&to=2026-01-01T02:00:00Z")
    page.wait_for("document.getElementById('chart') && document.getElementById('chart').dataset.state === 'error'",
                  what="the error of a metric nodepack does not collect")
    error = page.evaluate("document.getElementById('error').textContent")
    check("not collected by nodepack" in error and "(HTTP 501)" in error, "a metric that is not collected says so",
          repr(error))
    shots.append(page.screenshot(os.path.join(out, "web_error.png")))

    # --- Log out ----------------------------------------------------------------------------------
    page.evaluate("document.getElementById('logout').click(), true")
    page.wait_for("location.pathname === '/web/login' && document.readyState === 'complete'", what="the page after logout")
    cookies = [c for c in page.send("Network.getCookies", {"urls": [base]})["cookies"] if c["name"] == "nodepack_session"]
    check(not cookies, "logging out removes the cookie", json.dumps(cookies))
    page.navigate(base + "/web/stats/cpu/usage_rate")
    page.wait_for("location.pathname === '/web/login' && document.readyState === 'complete'", what="the login form")
    check(True, "after logging out the pages ask for a login again")

    # --- A user restricted to one namespace -----------------------------------------------------
    page.type_into("#user", "bob")
    page.type_into("#password", "secret")
    page.evaluate("document.querySelector('#login button[type=submit]').click(), true")
    page.wait_for("location.pathname === '/web/stats/cpu/usage_rate/team-b'", what="bob's first page")
    if wait_ready(page, "#chart", "bob's chart loads"):
        options = page.evaluate("[...document.querySelectorAll('#namespace-select option')].map(o => o.value)")
        check(options == ["team-b"], "a restricted user chooses among their namespaces only", str(options))

    # --- Failed logins are rate-limited, and the form says so -----------------------------------
    page.evaluate("document.getElementById('logout').click(), true")
    page.wait_for("location.pathname === '/web/login' && document.readyState === 'complete'", what="the login form")
    message = ""
    for _ in range(4):  # one failure so far; the limit is three
        page.evaluate("document.getElementById('error') && document.getElementById('error').remove(), true")
        page.type_into("#user", "alice")
        page.type_into("#password", "guess")
        page.evaluate("document.querySelector('#login button[type=submit]').click(), true")
        message = page.wait_for("document.readyState === 'complete' && document.getElementById('error') &&"
                                " document.getElementById('error').textContent", what="the login error")
        if "too many failed attempts" in message:
            break
    check("too many failed attempts" in message, "repeated failures are refused with a reason", repr(message))
    shots.append(page.screenshot(os.path.join(out, "web_login_limited.png")))
    return shots


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    fixture, out = sys.argv[1], sys.argv[2]
    browser_path = find_browser()
    if not browser_path:
        skip("no chromium on PATH, so the web UI was not tested in a browser (Debian: apt-get install chromium)",
             "NODEPACK_REQUIRE_BROWSER")
    os.makedirs(out, exist_ok=True)
    for old in glob.glob(os.path.join(out, "web_*")):
        os.remove(old)
    work = tempfile.mkdtemp(prefix="nodepack-web-")
    fixture_proc = browser = None
    prom_dir = os.path.join(work, "prometheus")
    try:
        om = os.path.join(work, "fixture.om")
        subprocess.run([sys.executable, os.path.join(HERE, "web_fixture.py"), om], check=True)
        started = subprocess.run(["bash", os.path.join(SOURCE, "tests", "prometheus", "start_prometheus.sh"), om, prom_dir],
                                 stdout=subprocess.PIPE, text=True)
        if started.returncode == 77:
            skip("no Prometheus, so the web UI was not tested in a browser", "NODEPACK_REQUIRE_PROMETHEUS")
        if started.returncode != 0:
            print("FAIL: start_prometheus.sh failed", file=sys.stderr)
            return 1
        fixture_proc, port = start_fixture(fixture, started.stdout.strip(), work)
        base = "http://127.0.0.1:%d" % port
        downloads = os.path.join(work, "downloads")
        os.makedirs(downloads)
        browser = Chromium(browser_path, os.path.join(work, "profile"), os.path.join(work, "chromium.log"))
        browser.send("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        page = Page(browser)
        # Times on the page in UTC, so the custom range and axis labels do not depend on the host.
        page.send("Emulation.setTimezoneOverride", {"timezoneId": "UTC"})
        try:
            shots = flow(page, base, out, downloads)
        except CdpError as e:
            check(False, "the browser flow ran to the end", str(e))
            shots = [page.screenshot(os.path.join(out, "web_failure.png"))]
        # Nothing the Content-Security-Policy blocked, no uncaught script error.
        problems = []
        for event in browser.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                problems.append(params["exceptionDetails"].get("exception", {}).get("description", "exception"))
            elif method == "Log.entryAdded" and "Content Security Policy" in params["entry"].get("text", ""):
                problems.append(params["entry"]["text"])
        check(not problems, "no script errors and nothing blocked by the Content-Security-Policy", "; ".join(problems))
        for shot in shots:
            print("screenshot: " + shot)
    except Exception as e:  # a harness failure is a test failure, with what happened
        check(False, "the test harness ran", "%s: %s" % (type(e).__name__, e))
    finally:
        if browser:
            browser.close()
        if fixture_proc:
            fixture_proc.send_signal(signal.SIGTERM)
            try:
                fixture_proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                fixture_proc.kill()
        pid_file = os.path.join(prom_dir, "prometheus.pid")
        if os.path.exists(pid_file):
            with open(pid_file) as f:
                pid = int(f.read().strip())
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if failures:
            for name in ("fixture.err", "chromium.log"):
                path = os.path.join(work, name)
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        print("--- %s (tail) ---\n%s" % (name, f.read()[-3000:]), file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        return 1
    print("all web UI checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
