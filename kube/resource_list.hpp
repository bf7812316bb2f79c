#pragma once

// Named quantities (cpu, memory, hugepages-2Mi, nvidia.com/gpu, ...), as in core/v1 ResourceList.

#include "common/result.hpp"
#include "kube/quantity.hpp"

#include <boost/json/value.hpp>

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace nodepack::kube {

using ResourceList = std::map<std::string, Quantity, std::less<>>;

// dst[k] += src[k] for every key of src (a missing key starts at zero).
void add_into(ResourceList& dst, const ResourceList& src);

// dst[k] = max(dst[k], src[k]) for every key of src, a missing key counting as zero.
void max_into(ResourceList& dst, const ResourceList& src);

// An object of resource name to quantity. Values are quantity strings, or JSON numbers (read as
// the same text apimachinery would see), or null (zero, as apimachinery reads it).
Result<ResourceList> parse_resource_list(const boost::json::value& json);

// The value exporters publish: cpu in cores from whole millicores rounded up (150m -> 0.15),
// every other resource in whole base units rounded up (bytes, counts).
double exporter_value(std::string_view resource, const Quantity& quantity);

// "cpu=250m, memory=64Mi" for logs, reasons and debug pages.
std::string format_resource_list(const ResourceList& list);

}  // namespace nodepack::kube
