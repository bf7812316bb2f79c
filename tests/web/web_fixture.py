#!/usr/bin/env python3
"""Writes the web test's OpenMetrics fixture: namespaces team-a (pods web-0 with containers app and
sidecar, worker-0) and team-b (db-0), a sample every 60 s from 2026-01-01T00:00:00Z for two hours.
Usage and requests are constant except worker-0's CPU request, which goes from 1 to 2 cores at
01:30, so every figure the pages show is a hand computation (see test_web_chromium.py). Namespace
team-c has nothing but a CPU request gauge.

    web_fixture.py OUTPUT_FILE
"""
import sys

T0 = 1767225600  # 2026-01-01T00:00:00Z
STEP = 60
END = T0 + 7200
CHANGE = T0 + 5400  # 01:30
GIB = 1 << 30

# namespace, pod, container, node, cpu used (cores), cpu request before/after CHANGE (cores),
# memory used (GiB), memory request (GiB), GPUs
CONTAINERS = [
    ("team-a", "web-0", "app", "n1", 0.25, (0.5, 0.5), 1.0, 2.0, 0),
    ("team-a", "web-0", "sidecar", "n1", 0.05, (0.1, 0.1), 0.5, 0.5, 0),
    ("team-a", "worker-0", "main", "n2", 1.5, (1.0, 2.0), 2.0, 1.0, 1),
    ("team-b", "db-0", "postgres", "n1", 0.5, (1.0, 1.0), 4.0, 4.0, 0),
]


def fmt(v):
    return repr(float(v)) if v != int(v) else str(int(v))


def counter(t, before, after, base=0):
    """Grows `before` per second until CHANGE, `after` from then on; the per-minute growth is a
    whole number, so every sample is exact."""
    b, a = round(before * 60), round(after * 60)
    if t <= CHANGE:
        return base + b * (t - T0) // 60
    return base + b * (CHANGE - T0) // 60 + a * (t - CHANGE) // 60


def main():
    out = []

    def family(name, series):
        for labels, value_at in series:
            text = ",".join(f'{k}="{v}"' for k, v in labels)
            for t in range(T0, END + 1, STEP):
                out.append(f"{name}{{{text}}} {fmt(value_at(t))} {t}")

    def labels(c, **extra):
        ns, pod, container, node = c[:4]
        return [("namespace", ns), ("pod", pod), ("container", container), ("node", node)] + list(extra.items())

    def request(c, t):
        return c[5][0] if t < CHANGE else c[5][1]

    # Counters start above zero (a process that ran before the range).
    family("kpod_cpu_usage_seconds_total",
           [(labels(c), lambda t, c=c: counter(t, c[4], c[4], 1000)) for c in CONTAINERS])
    family("nodepack_container_cpu_requested_core_seconds_total",
           [(labels(c), lambda t, c=c: counter(t, c[5][0], c[5][1], 1000)) for c in CONTAINERS])
    family("nodepack_container_memory_used_byte_seconds_total",
           [(labels(c), lambda t, c=c: counter(t, c[6] * GIB, c[6] * GIB)) for c in CONTAINERS])
    family("nodepack_container_memory_requested_byte_seconds_total",
           [(labels(c), lambda t, c=c: counter(t, c[7] * GIB, c[7] * GIB)) for c in CONTAINERS])
    family("nodepack_container_gpu_allocated_seconds_total",
           [(labels(c, resource="nvidia.com/gpu"), lambda t, c=c: c[8] * (t - T0)) for c in CONTAINERS if c[8]])
    # team-c requested a quarter core and (its usage not being collected) shows only that.
    family("nodepack_container_cpu_request_cores",
           [(labels(c), lambda t, c=c: request(c, t)) for c in CONTAINERS] +
           [([("namespace", "team-c"), ("pod", "idle-0"), ("container", "main"), ("node", "n2")], lambda t: 0.25)])
    family("nodepack_container_memory_request_bytes",
           [(labels(c), lambda t, c=c: int(c[7] * GIB)) for c in CONTAINERS])
    family("kpod_mem_cgroup_usage_bytes",
           [(labels(c), lambda t, c=c: int(c[6] * GIB)) for c in CONTAINERS])
    out.append("# EOF")
    with open(sys.argv[1], "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
