#pragma once

// Command-line flags in the Go style KBE users know: --name=value, --name value, and bare --name
// for booleans. Unknown flags and bad values are errors with a one-line reason (exit 2).

#include "common/result.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack {

class FlagSet {
 public:
  explicit FlagSet(std::string program) : program_(std::move(program)) {}

  // `set` parses and stores one value; returning an error rejects the command line.
  void add(std::string name, std::string help, std::string default_text,
           std::function<Result<void>(std::string_view)> set);
  void add_string(std::string name, std::string help, std::string& target);
  void add_bool(std::string name, std::string help, bool& target);
  void add_int(std::string name, std::string help, std::int64_t& target);
  // Repeatable: every occurrence appends.
  void add_list(std::string name, std::string help, std::vector<std::string>& target);

  // Parses everything after the mode word; positional arguments are errors.
  Result<void> parse(const std::vector<std::string>& args);
  std::string usage() const;
  bool help_requested() const { return help_requested_; }

 private:
  struct Flag {
    std::string name;
    std::string help;
    std::string default_text;
    bool is_bool = false;
    std::function<Result<void>(std::string_view)> set;
  };
  const Flag* find(std::string_view name) const;

  std::string program_;
  std::vector<Flag> flags_;
  bool help_requested_ = false;
};

// Resource names as the API spells them; a DNS-1123 prefix with '/' is allowed (nvidia.com/gpu).
bool valid_resource_name(std::string_view name);
// --resources: a comma-separated, non-empty list of valid resource names.
Result<std::vector<std::string>> parse_resources_flag(std::string_view text);
// A flag setter for a Go duration ("30m", "1h30m"); zero is refused unless allow_zero.
std::function<Result<void>(std::string_view)> duration_setter(std::chrono::nanoseconds& target, bool allow_zero);

// "cpu, memory" -> {"cpu","memory"}; empty items dropped.
std::vector<std::string> split_list(std::string_view text, char separator = ',');

}  // namespace nodepack
