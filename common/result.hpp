#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>  // std::in_place

namespace nodepack {

// An expected failure, as a value: a message a person can act on.
// Built with fail(). Error is deliberately not constructible from a string alone, so that a
// Result<std::string> built from a string is always a value, never an error.
struct Error {
  Error() = default;
  Error(std::in_place_t, std::string text) : message(std::move(text)) {}
  std::string message;
};

// Thrown only when code calls .value() on a failed Result; start-up code does that on purpose.
class ErrorException : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw ErrorException(e.message);
}

// So a failed Result prints its message (test frameworks and logs stream results).
inline std::ostream& operator<<(std::ostream& os, const Error& e) { return os << e.message; }

template <class T>
using Result = boost::system::result<T, Error>;

// Shorthand for returning a failure: `return fail("bad quantity \"" + s + "\"");`
inline Error fail(std::string message) { return Error(std::in_place, std::move(message)); }

}  // namespace nodepack
