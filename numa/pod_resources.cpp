#include "numa/pod_resources.hpp"

#include "common/result.hpp"

#include <ostream>

namespace nodepack::numa {

std::string_view to_string(PodResourcesError e) {
  switch (e) {
    case PodResourcesError::no_socket:
      return "no_socket";
    case PodResourcesError::unavailable:
      return "unavailable";
    case PodResourcesError::timeout:
      return "timeout";
    case PodResourcesError::rate_limited:
      return "rate_limited";
    case PodResourcesError::unimplemented:
      return "unimplemented";
    case PodResourcesError::bad_answer:
      return "bad_answer";
    case PodResourcesError::other:
      return "other";
  }
  return "other";
}

std::ostream& operator<<(std::ostream& os, const PodResourcesFailure& f) {
  return os << to_string(f.reason) << ": " << f.message;
}

void throw_exception_from_error(const PodResourcesFailure& f, const boost::source_location&) {
  throw ErrorException(std::string(to_string(f.reason)) + ": " + f.message);
}

}  // namespace nodepack::numa
