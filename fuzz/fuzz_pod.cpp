// Pod JSON from the API server: parsing and request computation must never crash, whatever the
// shapes and quantities.

#include "kube/pod.hpp"
#include "kube/pod_requests.hpp"

#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::system::error_code ec;
  const auto json = boost::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec) {
    return 0;
  }
  auto pod = nodepack::kube::parse_pod(json);
  if (!pod) {
    return 0;
  }
  (void)nodepack::kube::compute_pod_requests(*pod, nodepack::kube::ResizeSemantics::per_container);
  (void)nodepack::kube::compute_pod_requests(*pod, nodepack::kube::ResizeSemantics::max_of_sums);
  (void)nodepack::kube::pod_counts_toward_node(*pod);
  return 0;
}
