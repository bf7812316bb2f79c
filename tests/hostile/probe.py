"""The kubelet's view during an attack: a fresh connection per `/healthz` probe, every 50 ms, timed
from connect to the status line; and the server's resident memory and descriptors, sampled alongside."""
import threading
import time

import servers

PROBE_INTERVAL = 0.05
PROBE_TIMEOUT = 1.0  # the kubelet's default timeoutSeconds


class Prober:
    def __init__(self, server):
        self.server = server
        self.latencies = []  # seconds, of the probes that answered 200
        self.failures = []  # why the others did not
        self.max_rss_kib = 0
        self.max_fds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._context = servers.client_context()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _probe(self):
        start = time.monotonic()
        try:
            sock = servers.connect(self.server, timeout=PROBE_TIMEOUT, tls_context=self._context)
            with sock:
                status, body = servers.request(sock, "/healthz")
        except OSError as e:
            self.failures.append(f"{type(e).__name__}: {e}")
            return
        elapsed = time.monotonic() - start
        if status == 200:
            self.latencies.append(elapsed)
        else:
            self.failures.append(f"status {status}: {body[:60]!r}")

    def _run(self):
        while not self._stop.is_set():
            self._probe()
            self.max_rss_kib = max(self.max_rss_kib, self.server.rss_kib())
            self.max_fds = max(self.max_fds, self.server.fds())
            self._stop.wait(PROBE_INTERVAL)

    def summary(self):
        ordered = sorted(self.latencies)
        if not ordered:
            return {"probes": 0, "failures": len(self.failures)}

        def pct(p):
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

        return {"probes": len(ordered) + len(self.failures), "failures": len(self.failures),
                "p50_ms": round(pct(0.5), 2), "p99_ms": round(pct(0.99), 2), "max_ms": round(ordered[-1] * 1000, 2),
                "max_rss_mib": round(self.max_rss_kib / 1024, 1), "max_fds": self.max_fds}
