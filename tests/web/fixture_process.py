"""For the browser tests: Chromium or a loud skip, and a fixture (a C++ program that prints
"port=N" once it serves) started with a bounded wait for its port."""
import os
import shutil
import subprocess
import sys
import time


# The checks that failed, in order; check() prints each as it goes.
failures = []


def check(condition, what, detail=""):
    if condition:
        print("ok: " + what)
    else:
        print("FAIL: %s%s" % (what, (": " + detail) if detail else ""), file=sys.stderr)
        failures.append(what)


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


def write_users(path, users):
    """An --auth.users-file: each (user, namespaces) with password "secret" (sha512-crypt, which
    libxcrypt verifies like any other crypt(3) hash); namespaces "" for all, else ":ns1,ns2"."""
    lines = []
    for user, namespaces in users:
        hashed = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input="secret\n", stdout=subprocess.PIPE,
                                text=True, check=True).stdout.strip()
        lines.append(user + ":" + hashed + namespaces)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def chromium_or_skip(what):
    """Chromium's path; without one, says loudly that `what` was not tested and exits 77 (the CTest
    skip code), or 1 when NODEPACK_REQUIRE_BROWSER=1."""
    path = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if path:
        return path
    print(f"SKIPPED: no chromium on PATH, so {what} was not tested in a browser", file=sys.stderr)
    if os.environ.get("NODEPACK_REQUIRE_BROWSER") == "1":
        print("FAIL: NODEPACK_REQUIRE_BROWSER=1", file=sys.stderr)
        sys.exit(1)
    sys.exit(77)
