#pragma once

// Why an API request failed, or why the reflector could not use its answer. The reflector backs off
// on every kind alike, but a body over its bound is counted on its own (an operator raises the bound
// or shrinks the page, a retry alone will not help) and, for a watch, means an event was lost.

#include "common/result.hpp"

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <ostream>
#include <string>

namespace nodepack::kube {

enum class ApiErrorKind {
  transport,    // resolve, connect, TLS, send or read failed, or timed out
  credentials,  // no Authorization header could be made (token file, exec plugin)
  too_large,    // a response body or a watch event line exceeded the caller's bound
  bad_answer,   // the server answered, but with an error status or a body that is not what was asked
};

struct ApiError {
  ApiErrorKind kind = ApiErrorKind::transport;
  std::string message;

  // NOLINTNEXTLINE(google-explicit-constructor): callers that only report it pass it on as an Error
  operator Error() const { return fail(message); }
};

inline std::ostream& operator<<(std::ostream& os, const ApiError& e) { return os << e.message; }

[[noreturn]] inline void throw_exception_from_error(const ApiError& e, const boost::source_location&) {
  throw ErrorException(e.message);
}

template <class T>
using ApiResult = boost::system::result<T, ApiError>;

}  // namespace nodepack::kube
