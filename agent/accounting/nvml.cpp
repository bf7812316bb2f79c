#include "agent/accounting/nvml.hpp"

#include <dlfcn.h>

namespace nodepack::agent::accounting {
namespace {

// From NVML's public ABI (nvml.h): an opaque device handle, int return codes, and the v2 process
// record that nvmlDeviceGetComputeRunningProcesses_v3 fills.
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t NVML_SUCCESS = 0;
constexpr nvmlReturn_t NVML_ERROR_INSUFFICIENT_SIZE = 7;
constexpr unsigned int NVML_DEVICE_UUID_V2_BUFFER_SIZE = 96;
constexpr unsigned long long NVML_VALUE_NOT_AVAILABLE = ~0ULL;

struct nvmlProcessInfo_v2_t {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};

}  // namespace

struct Nvml::Api {
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  nvmlReturn_t (*device_count)(unsigned int*) = nullptr;
  nvmlReturn_t (*handle_by_index)(unsigned int, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*uuid)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*compute_processes)(nvmlDevice_t, unsigned int*, nvmlProcessInfo_v2_t*) = nullptr;
  const char* (*error_string)(nvmlReturn_t) = nullptr;

  std::string describe(nvmlReturn_t rc) const {
    const char* text = error_string != nullptr ? error_string(rc) : nullptr;
    return text != nullptr ? std::string(text) + " (" + std::to_string(rc) + ")" : "NVML error " + std::to_string(rc);
  }
};

namespace {

template <class F>
bool bind(void* handle, const char* name, F& target) {
  target = reinterpret_cast<F>(::dlsym(handle, name));
  return target != nullptr;
}

}  // namespace

Result<std::unique_ptr<Nvml>> Nvml::load(const std::string& library) {
  void* handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return fail("cannot load " + library + ": " + (why != nullptr ? why : "unknown error"));
  }
  auto api = std::make_unique<Api>();
  const std::pair<const char*, bool> bound[] = {
      {"nvmlInit_v2", bind(handle, "nvmlInit_v2", api->init)},
      {"nvmlShutdown", bind(handle, "nvmlShutdown", api->shutdown)},
      {"nvmlDeviceGetCount_v2", bind(handle, "nvmlDeviceGetCount_v2", api->device_count)},
      {"nvmlDeviceGetHandleByIndex_v2", bind(handle, "nvmlDeviceGetHandleByIndex_v2", api->handle_by_index)},
      {"nvmlDeviceGetUUID", bind(handle, "nvmlDeviceGetUUID", api->uuid)},
      {"nvmlDeviceGetComputeRunningProcesses_v3",
       bind(handle, "nvmlDeviceGetComputeRunningProcesses_v3", api->compute_processes)},
  };
  bind(handle, "nvmlErrorString", api->error_string);  // optional: only for messages
  for (const auto& [name, ok] : bound) {
    if (!ok) {
      ::dlclose(handle);
      return fail(library + " has no " + name + " (driver older than R510?)");
    }
  }
  if (const nvmlReturn_t rc = api->init(); rc != NVML_SUCCESS) {
    const std::string why = api->describe(rc);
    ::dlclose(handle);
    return fail("nvmlInit_v2: " + why);
  }
  return std::unique_ptr<Nvml>(new Nvml(handle, std::move(api)));
}

Nvml::Nvml(void* handle, std::unique_ptr<Api> api) : handle_(handle), api_(std::move(api)) {}

Nvml::~Nvml() {
  api_->shutdown();
  ::dlclose(handle_);
}

unsigned int Nvml::device_count() const {
  unsigned int count = 0;
  return api_->device_count(&count) == NVML_SUCCESS ? count : 0;
}

Result<std::vector<GpuProcess>> Nvml::compute_processes() const {
  unsigned int count = 0;
  if (const nvmlReturn_t rc = api_->device_count(&count); rc != NVML_SUCCESS) {
    return fail("nvmlDeviceGetCount_v2: " + api_->describe(rc));
  }
  std::vector<GpuProcess> out;
  for (unsigned int i = 0; i < count; ++i) {
    nvmlDevice_t device = nullptr;
    if (const nvmlReturn_t rc = api_->handle_by_index(i, &device); rc != NVML_SUCCESS) {
      return fail("nvmlDeviceGetHandleByIndex_v2(" + std::to_string(i) + "): " + api_->describe(rc));
    }
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
    if (const nvmlReturn_t rc = api_->uuid(device, uuid, sizeof uuid); rc != NVML_SUCCESS) {
      return fail("nvmlDeviceGetUUID(" + std::to_string(i) + "): " + api_->describe(rc));
    }
    // Processes come and go between the sizing call and the real one: retry with room to spare.
    std::vector<nvmlProcessInfo_v2_t> infos(16);
    nvmlReturn_t rc = NVML_ERROR_INSUFFICIENT_SIZE;
    unsigned int n = 0;
    for (int attempt = 0; attempt < 4 && rc == NVML_ERROR_INSUFFICIENT_SIZE; ++attempt) {
      n = static_cast<unsigned int>(infos.size());
      rc = api_->compute_processes(device, &n, infos.data());
      if (rc == NVML_ERROR_INSUFFICIENT_SIZE) {
        infos.resize(static_cast<std::size_t>(n) * 2 + 16);
      }
    }
    if (rc != NVML_SUCCESS) {
      return fail("nvmlDeviceGetComputeRunningProcesses_v3(" + std::to_string(i) + "): " + api_->describe(rc));
    }
    for (unsigned int k = 0; k < n && k < infos.size(); ++k) {
      if (infos[k].usedGpuMemory == NVML_VALUE_NOT_AVAILABLE) {
        continue;
      }
      out.push_back(GpuProcess{uuid, i, infos[k].pid, infos[k].usedGpuMemory});
    }
  }
  return out;
}

}  // namespace nodepack::agent::accounting
