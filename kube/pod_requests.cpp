#include "kube/pod_requests.hpp"
#include "common/strings.hpp"

#include <map>
#include <string>
#include <utility>

namespace nodepack::kube {

Result<ResizeSemantics> parse_resize_semantics(std::string_view text) {
  if (text == "per-container") {
    return ResizeSemantics::per_container;
  }
  if (text == "max-of-sums") {
    return ResizeSemantics::max_of_sums;
  }
  return fail("invalid resize semantics \"" + std::string(text) + "\" (want per-container or max-of-sums)");
}

std::string_view resize_semantics_name(ResizeSemantics semantics) {
  return semantics == ResizeSemantics::max_of_sums ? "max-of-sums" : "per-container";
}

bool pod_counts_toward_node(const Pod& pod) { return pod.phase != "Succeeded" && pod.phase != "Failed"; }

namespace {

const ResourceList kEmpty;

// Only these may be set at pod level; any other key in spec.resources.requests is ignored.
bool supported_at_pod_level(std::string_view resource) {
  return resource == "cpu" || resource == "memory" || resource.starts_with("hugepages-");
}

// Requests, before rounding, of the containers combined the way the kubelet runs them: regular
// containers and sidecars side by side, each regular init container alone beside the sidecars
// declared before it. `effective(container, is_init)` gives one container's requests.
struct Aggregate {
  ResourceList total;
  std::vector<std::string> reasons;
};

template <class Effective>
Aggregate aggregate(const Pod& pod, Effective&& effective) {
  Aggregate out;
  for (const Container& c : pod.containers) {
    add_into(out.total, effective(c, false));
  }
  if (!pod.containers.empty()) {
    out.reasons.push_back("sum of " + std::to_string(pod.containers.size()) +
                          (pod.containers.size() == 1 ? " container" : " containers"));
  }

  ResourceList sidecars;  // running total of sidecars declared so far
  int sidecar_count = 0;
  ResourceList init_peak;
  // For each resource, the regular init container whose candidate set the peak, and how many
  // sidecars ran beside it. Empty name: the peak came from sidecars alone.
  std::map<std::string, std::pair<std::string, int>, std::less<>> peak_owner;
  for (const Container& c : pod.init_containers) {
    const ResourceList requests = effective(c, true);
    if (c.is_sidecar()) {
      add_into(out.total, requests);
      add_into(sidecars, requests);
      ++sidecar_count;
      out.reasons.push_back("sidecar '" + c.name + "' added to the running sum");
      for (const auto& [name, quantity] : sidecars) {
        auto [it, inserted] = init_peak.try_emplace(name, quantity);
        if (inserted || quantity > it->second) {
          it->second = quantity;
          peak_owner[name] = {std::string(), sidecar_count};
        }
      }
      continue;
    }
    ResourceList candidate = requests;
    add_into(candidate, sidecars);
    for (const auto& [name, quantity] : candidate) {
      auto [it, inserted] = init_peak.try_emplace(name, quantity);
      if (inserted || quantity > it->second) {
        it->second = quantity;
        peak_owner[name] = {c.name, sidecar_count};
      }
    }
  }

  // Name the init container that decided each resource where the init phase beats the sum.
  std::map<std::pair<std::string, int>, std::vector<std::string>> decided;
  for (const auto& [name, peak] : init_peak) {
    auto it = out.total.find(name);
    const bool beats_sum = it == out.total.end() ? !peak.is_zero() : peak > it->second;
    const auto& owner = peak_owner[name];
    if (beats_sum && !owner.first.empty()) {
      decided[owner].push_back(name);
    }
  }
  for (const auto& [owner, resources] : decided) {
    std::string line = "init container '" + owner.first + "'";
    if (owner.second > 0) {
      line +=
          " (plus " + std::to_string(owner.second) + (owner.second == 1 ? " earlier sidecar)" : " earlier sidecars)");
    }
    out.reasons.push_back(line + " dominates " + join(resources, ","));
  }
  max_into(out.total, init_peak);
  return out;
}

// Kubernetes up to 1.36: each container counts the max of its spec, allocated and actuated
// requests, but only when the kubelet reported status resources for it, and only for regular
// containers and sidecars (a regular init container has finished, its spec is what it used).
ResourceList per_container_effective(const Pod& pod, const Container& c, bool is_init, bool infeasible,
                                     std::vector<std::string>& reasons) {
  if (is_init && !c.is_sidecar()) {
    return c.requests;
  }
  const ContainerStatus* status = pod.find_status(c.name);
  if (status == nullptr || !status->resources) {
    return c.requests;
  }
  const ResourceList& actuated = status->resources->requests ? *status->resources->requests : kEmpty;
  const ResourceList& allocated = status->allocated_resources ? *status->allocated_resources : kEmpty;
  ResourceList out;
  if (infeasible) {
    reasons.push_back("resize infeasible: spec ignored for '" + c.name + "'");
  } else {
    out = c.requests;
  }
  max_into(out, actuated);
  max_into(out, allocated);
  if (infeasible) {
    return out;
  }
  for (const auto& [name, quantity] : out) {
    auto spec = c.requests.find(name);
    if (spec != c.requests.end() && !(quantity > spec->second)) {
      continue;
    }
    auto from_allocated = allocated.find(name);
    const bool is_allocated = from_allocated != allocated.end() && from_allocated->second == quantity;
    reasons.push_back("in-place resize: " + std::string(is_allocated ? "allocated " : "actuated ") +
                      quantity.to_string() + " > spec " +
                      (spec == c.requests.end() ? std::string("unset") : spec->second.to_string()) + " for '" + c.name +
                      "' " + name);
  }
  return out;
}

// Kubernetes 1.37 and later: the three views of a container, each falling back to the next when
// the kubelet has not reported it, and to nothing once the spec is known to be infeasible.
const ResourceList& allocated_view(const Container& c, const ContainerStatus* status, bool infeasible) {
  if (status != nullptr && status->allocated_resources) {
    return *status->allocated_resources;
  }
  return infeasible ? kEmpty : c.requests;
}

const ResourceList& actuated_view(const Container& c, const ContainerStatus* status, bool infeasible) {
  if (status != nullptr && status->resources && status->resources->requests) {
    return *status->resources->requests;
  }
  return allocated_view(c, status, infeasible);
}

ResourceList max_of_sums_total(const Pod& pod, bool infeasible, std::vector<std::string>& reasons) {
  Aggregate spec = aggregate(pod, [](const Container& c, bool) -> const ResourceList& { return c.requests; });
  Aggregate allocated = aggregate(pod, [&](const Container& c, bool) -> const ResourceList& {
    return allocated_view(c, pod.find_status(c.name), infeasible);
  });
  Aggregate actuated = aggregate(pod, [&](const Container& c, bool) -> const ResourceList& {
    return actuated_view(c, pod.find_status(c.name), infeasible);
  });

  ResourceList total;
  if (infeasible) {
    reasons = std::move(actuated.reasons);
    reasons.push_back("resize infeasible: spec ignored");
  } else {
    reasons = std::move(spec.reasons);
    total = spec.total;
  }
  max_into(total, actuated.total);
  max_into(total, allocated.total);
  if (infeasible) {
    return total;
  }
  for (const auto& [name, quantity] : total) {
    auto from_spec = spec.total.find(name);
    if (from_spec != spec.total.end() && !(quantity > from_spec->second)) {
      continue;
    }
    auto from_allocated = allocated.total.find(name);
    const bool is_allocated = from_allocated != allocated.total.end() && from_allocated->second == quantity;
    reasons.push_back("in-place resize (max-of-sums): " + std::string(is_allocated ? "allocated" : "actuated") +
                      " sum " + quantity.to_string() + " > spec sum " +
                      (from_spec == spec.total.end() ? std::string("unset") : from_spec->second.to_string()) + " for " +
                      name);
  }
  return total;
}

}  // namespace

ResourceList container_requests(const Pod& pod, const Container& container, bool is_init) {
  std::vector<std::string> unused;
  return per_container_effective(pod, container, is_init, pod.resize_infeasible(), unused);
}

PodRequests compute_pod_requests(const Pod& pod, ResizeSemantics semantics) {
  PodRequests out;
  const bool infeasible = pod.resize_infeasible();
  ResourceList total;
  if (semantics == ResizeSemantics::per_container) {
    std::vector<std::string> resize_reasons;
    Aggregate a = aggregate(pod, [&](const Container& c, bool is_init) {
      return per_container_effective(pod, c, is_init, infeasible, resize_reasons);
    });
    total = std::move(a.total);
    out.reasons = std::move(a.reasons);
    out.reasons.insert(out.reasons.end(), resize_reasons.begin(), resize_reasons.end());
  } else {
    total = max_of_sums_total(pod, infeasible, out.reasons);
  }

  if (pod.pod_level_requests) {
    std::vector<std::string> replaced;
    std::vector<std::string> ignored;
    for (const auto& [name, quantity] : *pod.pod_level_requests) {
      if (supported_at_pod_level(name)) {
        total.insert_or_assign(name, quantity);
        replaced.push_back(name);
      } else {
        ignored.push_back(name);
      }
    }
    if (!replaced.empty()) {
      out.reasons.push_back("pod-level resources replace " + join(replaced, ","));
    }
    if (!ignored.empty()) {
      out.reasons.push_back("pod-level resources not supported for " + join(ignored, ",") + ", ignored");
    }
  }

  if (!pod.overhead.empty()) {
    add_into(total, pod.overhead);
    out.reasons.push_back("overhead added: " + format_resource_list(pod.overhead));
  }

  // Round the pod total only, never the parts: three containers of 333.3m are 1000m, not 1002m.
  std::vector<std::string> rounded;
  for (auto& [name, quantity] : total) {
    const Quantity whole =
        name == "cpu" ? Quantity::from_milli(quantity.milli_value_ceil()) : Quantity::from_units(quantity.value_ceil());
    if (whole != quantity) {
      rounded.push_back(name + " " + quantity.to_string() + " -> " + whole.to_string());
      quantity = whole;
    }
  }
  if (!rounded.empty()) {
    out.reasons.push_back("rounded up " + join(rounded, ","));
  }
  out.requests = std::move(total);
  return out;
}

}  // namespace nodepack::kube
