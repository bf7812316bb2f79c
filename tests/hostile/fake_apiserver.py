"""An API server that answers a node list properly and everything else without end: list bodies
that never close their `items` array and watch events that never end their line. Each answer
stops when the client hangs up or, as a safety net for this test, after `cap` bytes."""
import http.server
import json
import multiprocessing
import os
import queue
import urllib.parse

CHUNK = 1 << 20


class FakeApiServer:
    """Serves from a child process below the server under test (nice 10), like the other attackers:
    in the suite's own process its threads would share one interpreter lock with the prober and
    the probes would measure Python, not the server."""

    def __init__(self, node_name, cap):
        self.node_name = node_name
        self.cap = cap
        self.answers = []  # (path, bytes sent before the client hung up or the cap)
        self._answers = multiprocessing.Queue()
        self._port = multiprocessing.Queue()
        self._proc = multiprocessing.Process(target=self._serve, daemon=True, name="fake-apiserver")
        self.port = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self._proc.start()
        self.port = self._port.get(timeout=10)
        return self

    def __exit__(self, *exc):
        self._proc.kill()
        self._proc.join()

    def _serve(self):
        os.nice(10)
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        httpd.daemon_threads = True
        self._port.put(httpd.server_address[1])
        httpd.serve_forever()

    def endless(self, kind):
        """Answers whose bytes stopped only because the client hung up (not the safety cap)."""
        while True:
            try:
                self.answers.append(self._answers.get(timeout=0.2))
            except queue.Empty:
                break
        return [(p, n) for p, n in self.answers if p.startswith(kind) and n < self.cap]

    def _handler(self):
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _json(self, doc):
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, what, prefix, filler):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                sent = 0
                try:
                    chunk = prefix + filler * ((CHUNK - len(prefix)) // len(filler))
                    while sent < fake.cap:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        sent += len(chunk)
                        chunk = filler * (CHUNK // len(filler))
                except OSError:
                    pass
                fake._answers.put((what, sent))
                self.close_connection = True

            def do_GET(self):  # noqa: N802 - the http.server interface
                url = urllib.parse.urlparse(self.path)
                query = urllib.parse.parse_qs(url.query)
                watch = query.get("watch", ["false"])[0] in ("1", "true")
                if url.path == "/version":
                    return self._json({"major": "1", "minor": "32", "gitVersion": "v1.32.0"})
                if url.path == "/api/v1/nodes" and not watch:
                    node = {"metadata": {"name": fake.node_name, "uid": "u-1", "resourceVersion": "1"},
                            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                                       "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}
                    return self._json({"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                                       "items": [node]})
                if watch:
                    return self._stream("watch " + url.path, b'{"type":"ADDED","object":{"metadata":{"name":"',
                                        b"x" * 64)
                return self._stream("list " + url.path, b'{"kind":"List","metadata":{"resourceVersion":"1"},"items":[',
                                    b'{"metadata":{"name":"p","namespace":"n"}},')

        return Handler
