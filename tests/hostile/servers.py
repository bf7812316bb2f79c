"""The processes under test and what the suite reads of them: start, address, RSS, descriptors."""
import os
import re
import signal
import socket
import ssl
import subprocess
import time


def wait_until(what, predicate, seconds):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except Exception as e:  # noqa: BLE001 - polled until the deadline
            last = e
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {seconds}s waiting for {what} (last error: {last})")


def _status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


class Server:
    """One nodepack process (or the simulator) with its log; `addr` once it logs where it serves."""

    SERVING = re.compile(r"serving on (127\.0\.0\.1:\d+)")

    def __init__(self, name, argv, work, tls=False):
        self.name = name
        self.tls = tls
        self.log = os.path.join(work, name + ".log")
        self.proc = subprocess.Popen(argv, stdout=open(self.log, "w"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.addr = None
        self.rest_fds = None  # descriptors once serving, before any attack

    def wait_serving(self, seconds=30):
        def serving():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            m = self.SERVING.search(open(self.log).read())
            return m.group(1) if m else None
        self.addr = wait_until(f"{self.name} to serve", serving, seconds)
        return self

    def host_port(self):
        host, port = self.addr.rsplit(":", 1)
        return host, int(port)

    def rss_kib(self):
        return _status_kib(self.proc.pid, "VmRSS")

    def peak_rss_kib(self):
        """The most resident memory the process ever had (the kernel's high-water mark)."""
        return _status_kib(self.proc.pid, "VmHWM")

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def alive(self):
        return self.proc.poll() is None

    def tail(self, lines=20):
        with open(self.log) as f:
            return "".join(f.readlines()[-lines:])

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def client_context():
    """What a kubelet's HTTPS probe does: TLS without verifying the serving certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(server, source="127.0.0.1", timeout=2.0, tls_context=None):
    """A connection from `source` (any 127.0.0.0/8 address: one per simulated client)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(server.host_port())
    if server.tls:
        sock = (tls_context or client_context()).wrap_socket(sock)
    return sock


def request(sock, path, headers=None, keep_alive=False):
    """Sends one GET and returns (status, body) read within the socket's timeout."""
    lines = [f"GET {path} HTTP/1.1", "Host: hostile.test", "Connection: " + ("keep-alive" if keep_alive else "close")]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2:
        raise ConnectionError(f"no HTTP status line: {head[:80]!r}")
    if re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
        return int(status_line[1]), read_chunked(sock, body)
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    want = int(length.group(1)) if length else None
    while want is not None and len(body) < want:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(status_line[1]), body


def read_chunked(sock, data):
    """The body of a chunked reply (a streamed /metrics), `data` being what followed its head."""
    body = b""
    while True:
        while b"\r\n" not in data:
            more = sock.recv(65536)
            if not more:
                raise ConnectionError("chunked body cut short")
            data += more
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";", 1)[0], 16)
        while len(data) < size + 2:
            more = sock.recv(65536)
            if not more:
                raise ConnectionError("chunked body cut short")
            data += more
        if size == 0:
            return body
        body += data[:size]
        data = data[size + 2:]


def make_certificate(work):
    """A self-signed certificate for 127.0.0.1, as a test deployment would mount one."""
    cert, key = os.path.join(work, "tls.crt"), os.path.join(work, "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key
