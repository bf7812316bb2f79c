#pragma once

// GPU memory per process through NVML, loaded with dlopen at run time so the agent has no link
// or package dependency on the NVIDIA driver. The few types used are declared here from NVML's
// documented ABI; no NVIDIA header is needed to build.

#include "common/result.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nodepack::agent::accounting {

struct GpuProcess {
  std::string gpu_uuid;  // "GPU-..."
  unsigned int gpu_index = 0;
  std::uint32_t pid = 0;
  std::uint64_t used_bytes = 0;
};

class Nvml {
 public:
  // dlopen()s `library` (a soname or a path) and calls nvmlInit_v2. A missing library or symbol,
  // or a failing init, is an error value: the caller turns the feature off.
  static Result<std::unique_ptr<Nvml>> load(const std::string& library);
  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  // Compute processes on every GPU with the device memory they use (processes whose usage the
  // driver cannot tell are left out).
  Result<std::vector<GpuProcess>> compute_processes() const;
  unsigned int device_count() const;

 private:
  struct Api;
  Nvml(void* handle, std::unique_ptr<Api> api);

  void* handle_;
  std::unique_ptr<Api> api_;
};

}  // namespace nodepack::agent::accounting
