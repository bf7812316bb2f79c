"""Hostile clients, each run in a process of its own for a fixed time so the prober's timing is
not theirs. Every attacker spreads its connections over many loopback addresses (127.1.x.y), as
many clients would, and reports what it achieved through a queue."""
import collections
import multiprocessing
import os
import queue
import resource
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass

import servers


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    tls: bool

    def host_port(self):
        return self.host, self.port


def sources(clients):
    return [f"127.1.{i // 250}.{1 + i % 250}" for i in range(clients)]


def _raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < needed:
        raise RuntimeError(f"the attack needs {needed} descriptors and the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _closed_by_peer(sock):
    """True once the server has closed, reset or given up on the connection; never blocks. Between
    requests an HTTP server sends nothing unprompted, so bytes waiting on a plain socket (an error
    answer before the close) mean it is done with us. Under TLS, records without application data
    (TLS 1.3 session tickets) are not that."""
    poller = select.poll()  # not select(): thousands of descriptors
    poller.register(sock, select.POLLIN)
    if not poller.poll(0):
        return False
    if isinstance(sock, ssl.SSLSocket):
        sock.setblocking(False)
        try:
            sock.recv(4096)
            return True
        except ssl.SSLWantReadError:
            return False
        except OSError:
            return True
    try:
        sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def keepalive_holders(target, clients, per_client, seconds, queue):
    """Each connection asks `/healthz` once with keep-alive and then sits there: the pattern that
    once took every slot of the server."""
    _raise_fd_limit(clients * per_client + 64)
    held, answered, refused = [], 0, 0
    context = servers.client_context()
    for source in sources(clients):
        for _ in range(per_client):
            try:
                sock = servers.connect(target, source=source, timeout=2.0, tls_context=context)
                status, _ = servers.request(sock, "/healthz", keep_alive=True)
                if status == 200:
                    answered += 1
                    held.append(sock)
                else:
                    refused += 1
                    sock.close()
            except OSError:
                refused += 1
    time.sleep(max(0.0, seconds))
    evicted = sum(1 for s in held if _closed_by_peer(s))
    queue.put({"connections": clients * per_client, "answered": answered, "refused": refused,
               "evicted_while_idle": evicted})


def slowloris(target, clients, per_client, seconds, queue):
    """Connections that send a request line and then one header byte every half second, never
    finishing the headers. The server must drop each at its header deadline."""
    _raise_fd_limit(clients * per_client + 64)
    context = servers.client_context()
    opened = {}  # socket -> when it connected
    refused = 0
    for source in sources(clients):
        for _ in range(per_client):
            try:
                sock = servers.connect(target, source=source, timeout=2.0, tls_context=context)
                sock.sendall(b"GET / HTTP/1.1\r\nHost: hostile.test\r\nX-Slow: ")
                opened[sock] = time.monotonic()
            except OSError:
                refused += 1
    lifetimes = []
    deadline = time.monotonic() + seconds
    while opened and time.monotonic() < deadline:
        for sock in list(opened):
            try:
                sock.setblocking(True)
                sock.settimeout(0.5)
                sock.sendall(b"a")
                if not _closed_by_peer(sock):
                    continue
            except OSError:
                pass
            lifetimes.append(time.monotonic() - opened.pop(sock))
            sock.close()
        time.sleep(0.5)
    queue.put({"connections": clients * per_client, "refused_at_once": refused, "dropped": len(lifetimes),
               "still_open": len(opened), "longest_lived_s": round(max(lifetimes, default=0.0), 2)})


def idle_sockets(target, count, clients, seconds, queue, reopen_per_second=1000):
    """Plain TCP connections that never send a byte (on a TLS port: never start the handshake).
    `count` are opened at once; the ones the server closes are opened again at a steady
    `reopen_per_second`, so the server faces both thousands of held sockets and a constant stream
    of new silent ones."""
    _raise_fd_limit(count + 64)
    addresses = sources(clients)
    live, opened, failed = [], 0, 0

    def open_one():
        nonlocal opened, failed
        sock = socket.socket()
        try:
            sock.bind((addresses[(opened + failed) % clients], 0))
            sock.settimeout(1.0)
            sock.connect(target.host_port())
            opened += 1
            return sock
        except OSError:
            failed += 1
            sock.close()
            return None

    tick = 0.05
    deadline = time.monotonic() + seconds
    budget = count  # the first tick opens them all
    while time.monotonic() < deadline:
        still_open = []
        for sock in live:
            if _closed_by_peer(sock):
                sock.close()
            else:
                still_open.append(sock)
        live = still_open
        while len(live) < count and budget >= 1 and time.monotonic() < deadline:
            budget -= 1
            sock = open_one()
            if sock is not None:
                live.append(sock)
        time.sleep(tick)
        budget = min(count, budget + reopen_per_second * tick)
    queue.put({"held_at_once": count, "opened": opened, "connect_failures": failed,
               "open_at_end": len(live)})


def logins(target, user, password, threads, seconds, queue):
    """Kube-App-style requests carrying a user and a password, `threads` at a time over kept-alive
    connections: one thread asks as the real user (logged in before); the others guess, as names nobody has, so
    every guess costs the server the dearest hash its users file holds. Each guessing thread moves
    to its next address when the failure limiter stops one."""
    statuses = {"user": collections.Counter(), "guesses": collections.Counter()}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    context = servers.client_context()
    addresses = sources(threads * 8)

    def loop(index):
        sock, attempt = None, 0
        while time.monotonic() < deadline:
            attempt += 1
            name, secret = (user, password) if index == 0 else (f"nobody-{index}-{attempt}", f"guess-{attempt}")
            try:
                if sock is None:
                    sock = servers.connect(target, source=addresses[index * 8 + attempt % 8], timeout=10.0,
                                           tls_context=context)
                status, _ = servers.request(sock, "/api", {"X-USERNAME": name, "X-PASSWORD": secret},
                                            keep_alive=True)
            except OSError as e:
                status = type(e).__name__
                sock = None
            if status == 429 and sock is not None:
                sock.close()
                sock = None
            with lock:
                statuses["user" if index == 0 else "guesses"][status] += 1
        if sock is not None:
            sock.close()

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put({kind: dict(counts) for kind, counts in statuses.items()})


def _run_niced(fn, *args):
    # Below the server and the prober, as a node's pods run below its kubelet: the suite measures
    # the server's defences, not how two cores share time between three busy processes.
    os.nice(10)
    fn(*args)


class Attack:
    """Runs one attacker in a child process: `with Attack(fn, ...) as a:` ... `a.result()`."""

    def __init__(self, fn, *args):
        self._queue = multiprocessing.Queue()
        self._proc = multiprocessing.Process(target=_run_niced, args=(fn, *args, self._queue), daemon=True,
                                             name=fn.__name__)
        self._result = None

    def __enter__(self):
        self._proc.start()
        return self

    def result(self, timeout=120):
        deadline = time.monotonic() + timeout
        while self._result is None:
            try:
                self._result = self._queue.get(timeout=0.5)
            except queue.Empty:
                if not self._proc.is_alive():
                    raise RuntimeError(f"the attacker {self._proc.name} died (exit {self._proc.exitcode}): "
                                       "its traceback is above") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the attacker {self._proc.name} did not report in {timeout} s") from None
        return self._result

    def __exit__(self, *exc):
        self._proc.join(5)
        if self._proc.is_alive():
            self._proc.kill()
