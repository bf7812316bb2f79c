#pragma once

#include "common/result.hpp"

#include <string>

namespace nodepack {

// --log-level debug|info|warn|error and --log-format json|text, as KBE has them. JSON lines carry
// time, level and msg, like Go's slog JSON handler.
Result<void> setup_logging(const std::string& level, const std::string& format);
Result<void> validate_log_flags(const std::string& level, const std::string& format);

}  // namespace nodepack
