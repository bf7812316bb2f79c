"""Starts a browser-test fixture (a C++ program that prints "port=N" once it serves) and waits,
bounded, for its port."""
import os
import subprocess
import time


def start_fixture(argv, work, seconds=30):
    """(process, port). The fixture's stdout and stderr go to WORK/fixture.out and .err."""
    out = open(os.path.join(work, "fixture.out"), "w+")
    err = open(os.path.join(work, "fixture.err"), "w+")
    proc = subprocess.Popen(argv, stdout=out, stderr=err)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        out.seek(0)
        for line in out.read().splitlines():
            if line.startswith("port="):
                return proc, int(line[5:])
        if proc.poll() is not None:
            err.seek(0)
            raise RuntimeError(f"{os.path.basename(argv[0])} exited early: " + err.read())
        time.sleep(0.05)  # poll interval
    proc.kill()
    raise RuntimeError(f"{os.path.basename(argv[0])} printed no port within {seconds} s")
