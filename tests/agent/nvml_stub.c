/* A stand-in for libnvidia-ml.so.1 with the few entry points the agent's accounting uses: two
 * GPUs and the compute processes a test scripts through nvml_stub_set_processes(). Signatures
 * follow NVML's documented ABI (int return codes, opaque device handles). */

#include <string.h>

#define STUB_GPUS 2
#define STUB_MAX_PROCS 64

typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} stub_process_info;

static stub_process_info procs[STUB_GPUS][STUB_MAX_PROCS];
static unsigned int proc_count[STUB_GPUS];
static int initialised;

void nvml_stub_set_processes(unsigned int gpu, const unsigned int* pids, const unsigned long long* bytes,
                             unsigned int n) {
  if (gpu >= STUB_GPUS || n > STUB_MAX_PROCS) {
    return;
  }
  for (unsigned int i = 0; i < n; ++i) {
    procs[gpu][i].pid = pids[i];
    procs[gpu][i].usedGpuMemory = bytes[i];
    procs[gpu][i].gpuInstanceId = 0xFFFFFFFFu;
    procs[gpu][i].computeInstanceId = 0xFFFFFFFFu;
  }
  proc_count[gpu] = n;
}

int nvmlInit_v2(void) {
  initialised = 1;
  return 0;
}

int nvmlShutdown(void) {
  initialised = 0;
  return 0;
}

const char* nvmlErrorString(int rc) { return rc == 7 ? "Insufficient Size" : "stub error"; }

int nvmlDeviceGetCount_v2(unsigned int* count) {
  if (!initialised) {
    return 1; /* NVML_ERROR_UNINITIALIZED */
  }
  *count = STUB_GPUS;
  return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void** device) {
  if (index >= STUB_GPUS) {
    return 2; /* NVML_ERROR_INVALID_ARGUMENT */
  }
  *device = &procs[index];
  return 0;
}

static int index_of(void* device) {
  for (int i = 0; i < STUB_GPUS; ++i) {
    if (device == (void*)&procs[i]) {
      return i;
    }
  }
  return -1;
}

int nvmlDeviceGetUUID(void* device, char* uuid, unsigned int length) {
  const int i = index_of(device);
  if (i < 0 || length < 16) {
    return 2;
  }
  strcpy(uuid, i == 0 ? "GPU-stub-0000" : "GPU-stub-0001");
  return 0;
}

/* Like the driver: a buffer too small gets NVML_ERROR_INSUFFICIENT_SIZE and the count needed. */
int nvmlDeviceGetComputeRunningProcesses_v3(void* device, unsigned int* count, stub_process_info* infos) {
  const int i = index_of(device);
  if (i < 0) {
    return 2;
  }
  if (*count < proc_count[i]) {
    *count = proc_count[i];
    return 7;
  }
  memcpy(infos, procs[i], proc_count[i] * sizeof(stub_process_info));
  *count = proc_count[i];
  return 0;
}
