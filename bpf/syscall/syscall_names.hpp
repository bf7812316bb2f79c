#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::bpf {

// Syscall numbers of the build architecture for the names nodepack can track.
std::optional<int> syscall_number(std::string_view name);
std::string syscall_name(int nr);  // "nr_<n>" for numbers outside the table

// kpod-metrics' default tracked set.
const std::vector<std::string>& default_tracked_syscalls();

}  // namespace nodepack::bpf
