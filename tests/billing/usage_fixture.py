#!/usr/bin/env python3
"""Writes the billing test's OpenMetrics fixture: 3 namespaces, 6 pods (one that came and went),
7 containers, 3 nodes, a sample every 60 s from 2026-01-01T00:00:00Z for two hours. Every series is a straight line (or two
lines joined at 01:00), so each figure the API returns can be computed by hand; the expected
numbers live in test_billing_prometheus.cpp next to the arithmetic.

    usage_fixture.py OUTPUT_FILE
"""
import sys

T0 = 1767225600  # 2026-01-01T00:00:00Z
STEP = 60
END = T0 + 7200
GIB = 1 << 30
CHANGE = T0 + 3600  # gamma/g1 raises its CPU request, default/a2 its memory use, at 01:00

# namespace, pod, container, node, cpu used (cores), cpu requested (cores) before/after CHANGE,
# memory used and requested (GiB), memory usage gauge (bytes) before/after CHANGE, GPUs.
CONTAINERS = [
    ("default", "a1", "app", "n1", 0.25, (0.5, 0.5), 1.0, 2.0, (100, 100), 0),
    ("default", "a1", "sidecar", "n1", 0.05, (0.1, 0.1), 0.5, 0.5, (10, 10), 0),
    ("default", "a2", "app", "n1", 0.5, (0.25, 0.25), 3.0, 2.0, (1000, 3000), 0),
    ("beta", "b1", "app", "n1", 1.0, (1.0, 1.0), 1.0, 1.0, (500, 500), 0),
    ("beta", "b2", "app", "n1", 0.2, (0.5, 0.5), 0.25, 1.0, (700, 700), 0),
    ("gamma", "g1", "app", "n2", 2.0, (1.0, 3.0), 4.0, 4.0, (5000, 5000), 2),
]
# A pod that came and went: beta/b3/app on n3 ran from 00:39:30 to 01:10:30 (scraped 00:40 to
# 01:10), its counters starting at zero: cpu used 1 core, requested 0.5; memory used 1 GiB,
# requested 2 GiB. No gauges (imported blocks carry no staleness markers).
SHORT_LIVED = [("beta", "b3", "app", "n3", 1.0, 0.5, 1.0, 2.0, T0 + 2370, T0 + 2400, T0 + 4200)]
# Pod network (bytes/s per interface).
NETWORK = [("default", "a1", "n1", "eth0", 10), ("beta", "b1", "n1", "eth0", 100), ("beta", "b1", "n1", "eth1", 50)]
ALLOCATABLE_CPU = {"n1": 8, "n2": 4}


def times():
    return range(T0, END + 1, STEP)


def fmt(v):
    # Every value here is a whole number or a short binary fraction; print it exactly.
    return repr(float(v)) if v != int(v) else str(int(v))


def piecewise(t, before, after, base=0.0):
    """A counter growing at `before` per second until CHANGE and `after` from then on. Rates times
    60 are whole numbers, so every sample is an integer (no binary rounding in the fixture)."""
    b, a = round(before * 60), round(after * 60)
    if t <= CHANGE:
        return base + b * (t - T0) // 60
    return base + b * (CHANGE - T0) // 60 + a * (t - CHANGE) // 60


def main():
    out = []

    def family(name, series, short=()):
        for labels, value_at in series:
            text = ",".join(f'{k}="{v}"' for k, v in labels)
            for t in times():
                out.append(f"{name}{{{text}}} {fmt(value_at(t))} {t}")
        # (labels, rate per second, born, first sample, last sample)
        for labels, rate, born, first, last in short:
            text = ",".join(f'{k}="{v}"' for k, v in labels)
            for t in range(first, last + 1, STEP):
                out.append(f"{name}{{{text}}} {fmt(rate * (t - born))} {t}")

    def labels(c, **extra):
        ns, pod, container, node = c[:4]
        return [("namespace", ns), ("pod", pod), ("container", container), ("node", node)] + list(extra.items())

    # Counters start at 1000 (a process that ran before the range) so increase() never sees zero.
    def short(index, scale=1):
        return [(labels(c), c[index] * scale, c[8], c[9], c[10]) for c in SHORT_LIVED]

    family("kpod_cpu_usage_seconds_total",
           [(labels(c), lambda t, c=c: piecewise(t, c[4], c[4], 1000)) for c in CONTAINERS], short(4))
    family("nodepack_container_cpu_requested_core_seconds_total",
           [(labels(c), lambda t, c=c: piecewise(t, c[5][0], c[5][1], 1000)) for c in CONTAINERS], short(5))
    family("nodepack_container_memory_used_byte_seconds_total",
           [(labels(c), lambda t, c=c: piecewise(t, c[6] * GIB, c[6] * GIB)) for c in CONTAINERS], short(6, GIB))
    family("nodepack_container_memory_requested_byte_seconds_total",
           [(labels(c), lambda t, c=c: piecewise(t, c[7] * GIB, c[7] * GIB)) for c in CONTAINERS], short(7, GIB))
    family("nodepack_container_gpu_allocated_seconds_total",
           [(labels(c, resource="nvidia.com/gpu"), lambda t, c=c: c[9] * (t - T0)) for c in CONTAINERS if c[9]])
    family("kpod_mem_cgroup_usage_bytes",
           [(labels(c), lambda t, c=c: c[8][0] if t < CHANGE else c[8][1]) for c in CONTAINERS])
    family("kpod_net_iface_rx_bytes_total",
           [([("namespace", ns), ("pod", pod), ("node", node), ("interface", iface)],
             lambda t, r=rate: 5000 + r * (t - T0)) for ns, pod, node, iface, rate in NETWORK])
    family("kube_binpacking_node_allocatable",
           [([("node", n), ("resource", "cpu")], lambda t, a=a: a) for n, a in ALLOCATABLE_CPU.items()])
    out.append("# EOF")
    with open(sys.argv[1], "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
