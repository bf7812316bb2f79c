#!/usr/bin/env python3
"""The topology page in headless Chromium, served by the real aggregator (with a users file) over
fake agents reporting a known connection graph (topology_fixture.cpp lists it): /api/topology
refuses callers without credentials and keeps a restricted user to their namespaces; after a real
form login the page draws one arrow per edge with its port and rate, hover text with the rates and
totals, the frontend's connections to the cart once (not also from the cart's inbound view), and
the namespace filter redraws with the edges that touch the namespace. Screenshots (PNG) are kept
in OUTPUT_DIR.

    test_topology_chromium.py TOPOLOGY_FIXTURE OUTPUT_DIR

Skips (exit 77, loudly) without Chromium unless NODEPACK_REQUIRE_BROWSER=1.
"""
import base64
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "web"))
import fixture_process  # noqa: E402
from fixture_process import check, failures  # noqa: E402
from cdp import CdpError, Chromium, Page  # noqa: E402

# (source, target, port) -> (label drawn on the arrow, hover text): topology_fixture.cpp's graph.
EXPECTED = {
    ("web/frontend", "shop/cart", 8080): (":8080 10/s", "web/frontend \u2192 shop/cart :8080/tcp\n"
                                          "10/s connections, 0.00/s failures\ntotal 250 connections, 0 failures"),
    ("web/frontend", "service:shop/catalog", 80): (":80 2.50/s", "web/frontend \u2192 svc shop/catalog :80/tcp\n"
                                                   "2.50/s connections, 0.00/s failures\ntotal 45 connections, 0 failures"),
    ("web/frontend", "external:203.0.113.0/24", 443): (":443 0.10/s", None),
    ("shop/cart", "shop/redis", 6379): (":6379 12/s", None),
    ("shop/cart", "shop/payments", 8443): (":8443 3.00/s", "shop/cart \u2192 shop/payments :8443/tcp\n"
                                           "3.00/s connections, 0.50/s failures\ntotal 70 connections, 7 failures"),
    ("shop/payments", "external:198.51.100.0/24", 443): (":443 1.00/s", "shop/payments \u2192 198.51.100.0/24 :443/tcp\n"
                                                         "1.00/s connections, 0.40/s failures\ntotal 20 connections, 4 failures"),
    ("batch/importer", "shop/redis", 6379): (":6379 1.00/s", "batch/importer \u2192 shop/redis :6379/tcp\n"
                                             "1.00/s connections, 0.00/s failures\ntotal 1010 connections, 0 failures"),
    ("monitoring/prometheus", "web/frontend", 9090): (":9090 0.20/s", None),
    ("monitoring/prometheus", "shop/cart", 9090): (":9090 0.20/s", None),
    ("monitoring/prometheus", "shop/payments", 9090): (":9090 0.20/s", None),
    ("monitoring/prometheus", "overflow", 0): (":0 0.00/s", None),
}


def api(base, path, user=None):
    request = urllib.request.Request(base + path)
    if user:
        request.add_header("Authorization", "Basic " + base64.b64encode((user + ":secret").encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, None


def drawn_edges(page):
    return page.evaluate("""[...document.querySelectorAll('#topology svg g.edge')].map(g => ({
        source: g.dataset.source, target: g.dataset.target, port: Number(g.dataset.port),
        label: (g.querySelector('text') || {}).textContent, title: g.querySelector('title').textContent,
        failing: g.classList.contains('failing')}))""")


def wait_loaded(page, previous="0"):
    page.wait_for("document.body && document.body.dataset.loaded && document.body.dataset.loaded !== %s"
                  % json.dumps(previous), what="the topology to load")
    error = page.evaluate("document.getElementById('error').hidden ? '' : document.getElementById('error').textContent")
    check(not error, "the page shows no error", error)
    return page.evaluate("document.body.dataset.loaded")


def api_checks(base):
    status, _ = api(base, "/api/topology")
    check(status == 401, "/api/topology without credentials is 401", str(status))
    status, everything = api(base, "/api/topology", "alice")
    check(status == 200, "/api/topology answers alice", str(status))
    if everything:
        got = sorted((e["source"], e["target"], e["port"]) for e in everything["edges"])
        check(got == sorted(EXPECTED), "the API has the fixture's 11 edges", str(got))
        cart = [e for e in everything["edges"] if e["source"] == "web/frontend" and e["target"] == "shop/cart"]
        check(len(cart) == 1 and cart[0]["connections"] == 250 and cart[0]["connections_per_second"] == 10,
              "frontend -> cart counted once (250, 10/s), not again from the cart's inbound view", str(cart))
        check(everything["reporting_nodes"] == 4, "four nodes report a topology (n5's agent is older)",
              str(everything["reporting_nodes"]))
    status, restricted = api(base, "/api/topology", "bob")
    if restricted:
        got = [(e["source"], e["target"]) for e in restricted["edges"]]
        check(got == [("batch/importer", "shop/redis")], "bob (namespace batch only) sees batch's edges only", str(got))
    status, web = api(base, "/api/topology?namespace=web", "alice")
    if web:
        check(len(web["edges"]) == 4, "?namespace=web: the 4 edges with a web end", json.dumps(web["edges"]))


def flow(page, base, out):
    page.navigate(base + "/web/topology")
    page.wait_for("location.pathname === '/web/login' && document.readyState === 'complete'", what="the login form")
    page.type_into("#user", "alice")
    page.type_into("#password", "secret")
    page.evaluate("document.querySelector('#login button[type=submit]').click(), true")
    page.wait_for("location.pathname === '/web/topology'", what="the topology page after login")
    loaded = wait_loaded(page)
    # Wide enough that the screenshots show the whole graph (narrower windows scroll it).
    page.send("Emulation.setDeviceMetricsOverride", {"width": 1700, "height": 1000, "deviceScaleFactor": 1,
                                                     "mobile": False})

    edges = drawn_edges(page)
    check(len(edges) == len(EXPECTED), "one arrow per edge (11)", str(len(edges)))
    by_key = {(e["source"], e["target"], e["port"]): e for e in edges}
    check(sorted(by_key) == sorted(EXPECTED), "the arrows join the expected peers", str(sorted(by_key)))
    for key, (label, title) in EXPECTED.items():
        e = by_key.get(key)
        if e is None:
            continue
        check(e["label"] == label, "%s -> %s :%d is labelled %r" % (key + (label,)), e["label"])
        if title is not None:
            check(e["title"] == title, "%s -> %s :%d hover text" % key, repr(e["title"]))
    check(sorted(k for k, e in by_key.items() if e["failing"]) ==
          sorted([("shop/cart", "shop/payments", 8443), ("shop/payments", "external:198.51.100.0/24", 443)]),
          "the two edges with failing connections are drawn as failing")
    boxes = page.evaluate("[...document.querySelectorAll('#topology svg g.node')].map(g => g.dataset.id).sort()")
    check(len(boxes) == 10, "a box per workload, Service, external bucket and overflow (10)", str(boxes))
    rows = page.evaluate("document.querySelectorAll('#edges tr.edge-row').length")
    check(rows == 11, "the table lists the 11 edges", str(rows))
    status = page.evaluate("document.getElementById('status').textContent")
    check(status.startswith("11 connections between 10 peers, from 4 nodes"), "the status line", status)

    # Hovering an arrow highlights it (its <title> is the browser's tooltip).
    point = page.evaluate("""(() => { const t = document.querySelector(
        '#topology g.edge[data-source="shop/cart"][data-target="shop/payments"] text').getBoundingClientRect();
        return [t.x + t.width / 2, t.y + t.height / 2]; })()""")
    page.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": point[0], "y": point[1]})
    hovered = page.evaluate("""[...document.querySelectorAll('#topology g.edge')].filter(g => g.matches(':hover'))
        .map(g => g.dataset.source + '>' + g.dataset.target)""")
    check(hovered == ["shop/cart>shop/payments"], "the mouse over an arrow's label hovers that arrow", str(hovered))
    page.screenshot(os.path.join(out, "topology_all.png"))

    # The namespace filter: the options, then web's edges only, kept in the address.
    options = page.evaluate("[...document.querySelectorAll('#namespace-select option')].map(o => o.value)")
    check(options == ["", "batch", "monitoring", "shop", "web"], "the namespace filter lists the namespaces",
          str(options))
    page.evaluate("(() => { const s = document.getElementById('namespace-select'); s.value = 'web';"
                  " s.dispatchEvent(new Event('change')); return true; })()")
    wait_loaded(page, loaded)
    web = sorted((e["source"], e["target"], e["port"]) for e in drawn_edges(page))
    check(web == sorted([("web/frontend", "shop/cart", 8080), ("web/frontend", "service:shop/catalog", 80),
                         ("web/frontend", "external:203.0.113.0/24", 443), ("monitoring/prometheus", "web/frontend", 9090)]),
          "namespace web: the 4 edges with a web end", str(web))
    check(page.evaluate("location.search") == "?namespace=web", "the filter is kept in the address",
          page.evaluate("location.search"))
    page.screenshot(os.path.join(out, "topology_namespace_web.png"))

    # Opened with a filter in the address: batch's single edge.
    page.navigate(base + "/web/topology?namespace=batch")
    page.wait_for("location.search === '?namespace=batch' && document.readyState === 'complete'", what="batch page")
    wait_loaded(page)
    batch = [(e["source"], e["target"]) for e in drawn_edges(page)]
    check(batch == [("batch/importer", "shop/redis")], "namespace batch from the address: one edge", str(batch))
    check(page.evaluate("document.getElementById('namespace-select').value") == "batch",
          "the filter shows the address' namespace")


def synthetic_graph():
    """50 peers: 5 namespaces of 8 workloads in a chain of tiers (each calls two of the next tier
    and one of its own namespace's next tier), plus 10 external buckets called by the last tier."""
    nodes, edges = [], []
    for ns in range(5):
        for w in range(8):
            nodes.append({"id": "ns%d/w%d" % (ns, w), "kind": "workload", "namespace": "ns%d" % ns, "name": "w%d" % w})
    for x in range(10):
        nodes.append({"id": "external:10.%d.0.0/24" % x, "kind": "external", "namespace": "", "name": "10.%d.0.0/24" % x})
    for ns in range(4):
        for w in range(8):
            for target in {(ns + 1, w), (ns + 1, (w + 3) % 8), (ns + 1, (w * 5) % 8)}:
                edges.append(("ns%d/w%d" % (ns, w), "ns%d/w%d" % target))
    for w in range(8):
        edges.append(("ns4/w%d" % w, "external:10.%d.0.0/24" % w))
        edges.append(("ns4/w%d" % w, "external:10.%d.0.0/24" % (8 + w % 2)))
    return {"nodes": nodes, "generated_at": "2026-01-01T00:00:00Z", "reporting_nodes": 5, "dropped_edges": 0,
            "truncated": False,
            "edges": [{"source": a, "target": b, "port": 8080, "protocol": "tcp",
                       "connections_per_second": (i % 7) * 1.5, "failures_per_second": 0.1 if i % 11 == 0 else 0,
                       "connections": i * 10, "failures": i % 3} for i, (a, b) in enumerate(edges)]}


def fifty_peers(page, base, out):
    """The page with a 50-peer answer (served in place of the API's through DevTools' Fetch): every
    box and arrow drawn, no two boxes overlapping, the graph not shrunk below 85%."""
    graph = synthetic_graph()
    page.send("Fetch.enable", {"patterns": [{"urlPattern": "*/api/topology*"}]})
    page.navigate(base + "/web/topology")
    deadline = time.monotonic() + 20
    served = False
    while time.monotonic() < deadline and not served:
        for event in list(page.browser.events):
            if event.get("method") == "Fetch.requestPaused" and event.get("sessionId") == page.session:
                page.browser.events.remove(event)
                page.send("Fetch.fulfillRequest", {
                    "requestId": event["params"]["requestId"], "responseCode": 200,
                    "responseHeaders": [{"name": "Content-Type", "value": "application/json"}],
                    "body": base64.b64encode(json.dumps(graph).encode()).decode()})
                served = True
        time.sleep(0.05)  # poll interval
    check(served, "the page asked for /api/topology")
    if not served:
        return
    wait_loaded(page)
    page.send("Fetch.disable")
    counts = page.evaluate("[document.querySelectorAll('#topology g.node').length,"
                           " document.querySelectorAll('#topology g.edge').length]")
    check(counts == [50, len(graph["edges"])], "50 boxes and every arrow drawn", str(counts))
    labels = page.evaluate("document.querySelectorAll('#topology g.edge text').length")
    check(20 <= labels <= 40, "a dense graph labels only its busiest arrows (20 and their ties, at most 40)", str(labels))
    overlaps = page.evaluate("""(() => {
        const r = [...document.querySelectorAll('#topology g.node rect')].map(e => e.getBoundingClientRect());
        let n = 0;
        for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++)
          if (r[i].left < r[j].right && r[j].left < r[i].right && r[i].top < r[j].bottom && r[j].top < r[i].bottom) n++;
        return n; })()""")
    check(overlaps == 0, "no two boxes overlap", str(overlaps))
    scale = page.evaluate("(() => { const s = document.querySelector('#topology svg');"
                          " return s.getBoundingClientRect().width / s.viewBox.baseVal.width; })()")
    check(scale >= 0.85, "the graph is drawn at 85% of its size or more (a wider one scrolls)", str(scale))
    page.screenshot(os.path.join(out, "topology_50_peers.png"))


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    fixture, out = sys.argv[1], sys.argv[2]
    browser_path = fixture_process.chromium_or_skip("the topology page")
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        users = os.path.join(work, "users")
        fixture_process.write_users(users, [("alice", ""), ("bob", ":batch")])  # alice all, bob batch only
        proc, port = fixture_process.start_fixture([fixture, "--auth.users-file=" + users], work, seconds=40)
        base = "http://127.0.0.1:%d" % port
        browser = None
        try:
            api_checks(base)
            browser = Chromium(browser_path, os.path.join(work, "profile"), os.path.join(work, "chromium.log"))
            page = Page(browser)
            flow(page, base, out)
            fifty_peers(page, base, out)
        except CdpError as e:
            check(False, "the browser session", str(e))
        finally:
            if browser:
                browser.close()
            proc.terminate()
            proc.wait(timeout=10)
            if failures:
                with open(os.path.join(work, "fixture.err")) as f:
                    print("--- fixture log ---\n" + f.read()[-4000:], file=sys.stderr)
    for shot in ("topology_all.png", "topology_namespace_web.png", "topology_50_peers.png"):
        path = os.path.join(out, shot)
        check(os.path.getsize(path) > 0 if os.path.exists(path) else False, "screenshot " + path)
    if failures:
        print("%d checks failed" % len(failures), file=sys.stderr)
        return 1
    print("all checks passed; screenshots in " + out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
