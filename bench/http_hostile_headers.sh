#!/usr/bin/env bash
# What the http collector's egress program costs on traffic made to be expensive for it, against
# an ordinary request, for one or more builds of its object in one run. A client in a cgroup v2
# directory sends, for SECONDS per pattern, segments of about 60 KB that each start a request
# ("GET / HTTP/1.1\r\n") and go on with header bytes that never end the headers:
#
#   plain     "aaaa..."      no LF: the scan's cheapest bytes
#   lf        "\nx\nx..."    a LF every other byte: every word takes the masks' slow path
#   candidate "\nc\nc..."    a LF followed by 'c' every other byte: each one a header line that
#                            could be Content-Length, the case that reads header names
#   request   an ordinary 120-byte GET, one per segment (for scale)
#
# Needs root, bpftool and python3. Prints ns per run of http_egress (the kernel's run-time
# statistics) and segments sent per second, per object and pattern.
#
#   bench/http_hostile_headers.sh <build-dir> [seconds] [name=file.bpf.o ...]
#
# With no objects named, the build's own http.bpf.o is measured; name an older build's object
# next to it for before/after in one run.
set -euo pipefail
build=${1:?usage: $0 <build-dir> [seconds] [name=file.bpf.o ...]}
seconds=${2:-3}
shift $(($# >= 2 ? 2 : 1))
objects=("$@")
[[ ${#objects[@]} -gt 0 ]] || objects=("this=$build/bpf/skel/http/http.bpf.o")
command -v bpftool >/dev/null || { echo "bpftool is needed (apt-get install bpftool)" >&2; exit 1; }

cgroup2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[[ -n $cgroup2 ]] || { echo "no cgroup v2 hierarchy mounted" >&2; exit 1; }
work=$(mktemp -d)
cg="$cgroup2/nodepack-bench-http-$$"
cleanup() {
  umount "$work/bpffs" 2>/dev/null || true
  rmdir "$cg" 2>/dev/null || true
  rm -rf "$work"
  sysctl -q kernel.bpf_stats_enabled=0 || true
}
trap cleanup EXIT
mkdir -p "$work/bpffs" "$cg"
mount -t bpf bpf "$work/bpffs"

# Sends the pattern's segments from inside the cgroup to a sink outside it for `seconds`.
send() {
  python3 - "$cg" "$1" "$seconds" <<'PY'
import os, socket, sys, threading, time
cg, pattern, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
body = {"plain": b"a" * 60000, "lf": b"\nx" * 30000, "candidate": b"\nc" * 30000}
segment = b"GET / HTTP/1.1\r\nHost: b\r\nUser-Agent: bench\r\nAccept: */*\r\nX-Pad: 0123456789\r\n\r\n"
if pattern != "request":
    segment = b"GET / HTTP/1.1\r\n" + body[pattern]
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
def sink():
    s, _ = l.accept()
    while s.recv(1 << 20): pass
threading.Thread(target=sink, daemon=True).start()
pid = os.fork()
if pid == 0:
    with open(cg + "/cgroup.procs", "w") as f: f.write(str(os.getpid()))
    c = socket.create_connection(l.getsockname())
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    n, end = 0, time.time() + seconds
    while time.time() < end:
        c.sendall(segment); n += 1
    print(n)
    os._exit(0)
os.waitpid(pid, 0)
PY
}

echo "# kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), ${seconds} s per pattern"
echo "| object | pattern | segments sent per second | ns per run of http_egress |"
echo "|---|---|---|---|"
sysctl -q kernel.bpf_stats_enabled=1
for spec in "${objects[@]}"; do
  name=${spec%%=*}
  file=${spec#*=}
  for pattern in request plain lf candidate; do
    pins="$work/bpffs/$name"
    bpftool prog loadall "$file" "$pins"
    bpftool cgroup attach "$cg" egress pinned "$pins/http_egress" multi
    sent=$(send "$pattern")
    read -r ns runs < <(bpftool prog show pinned "$pins/http_egress" |
      grep -o 'run_time_ns [0-9]* run_cnt [0-9]*' | awk '{ print $2, $4 }')
    bpftool cgroup detach "$cg" egress pinned "$pins/http_egress"
    rm -rf "$pins"
    echo "| $name | $pattern | $((sent / ${seconds%.*})) | $((runs > 0 ? ns / runs : 0)) |"
  done
done
