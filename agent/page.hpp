#pragma once

// The agent's web page, a node at a glance for `kubectl port-forward`: requests against
// allocatable and each pod's part (and why it counts or not), the NUMA nodes as CPU maps
// (exclusive to which container, shared, reserved, offline), and the kernel's view per pod (top
// pods by run-queue latency, CPU and TCP retransmits). One self-contained document, inline CSS and
// script, nothing loaded from outside.
//
// The document itself carries no data, so it is served without a token; its script reads the
// protected JSON endpoints and /metrics, and when those answer 401 or 403 it asks for a bearer
// token (kept in the tab's sessionStorage only) instead of failing.

#include <string>

namespace nodepack::agent {

std::string agent_page_html(const std::string& metrics_path);

}  // namespace nodepack::agent
