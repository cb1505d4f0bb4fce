// The CUDA_CHECK family's functions, the thread's execution state, and cuBLAS loaded on first use.
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <mutex>

#include "common.cuh"
#include "device.cuh"

namespace inq {
namespace cuda {

namespace {

const char* base_name(const char* file) {
  const char* b = std::strrchr(file, '/');
  return b ? b + 1 : file;
}

thread_local Exec t_exec;

}  // namespace

bool is_sticky(cudaError_t err) {
  switch (err) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorLaunchTimeout:
    case cudaErrorAssert:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorECCUncorrectable:
    case cudaErrorUnknown:
      return true;
    default:
      return false;
  }
}

int32_t status_of(cudaError_t err, const char* expr, const char* file, int line, char* msg, size_t cap) {
  if (err == cudaSuccess) return INQ_OK;
  std::snprintf(msg, cap, "%s:%d: %s failed: %s (%s)%s", base_name(file), line, expr, cudaGetErrorString(err),
                cudaGetErrorName(err),
                is_sticky(err) ? "; the CUDA context is corrupted: the device is unusable in this process" : "");
  return err == cudaErrorMemoryAllocation ? INQ_ERR_OUT_OF_MEMORY : INQ_ERR_DEVICE;
}

int32_t status_of_blas(cublasStatus_t st, const char* expr, const char* file, int line, char* msg, size_t cap) {
  if (st == CUBLAS_STATUS_SUCCESS) return INQ_OK;
  const char* what = blas().status_string ? blas().status_string(st) : "cuBLAS error";
  std::snprintf(msg, cap, "%s:%d: %s failed: %s (cublasStatus_t %d)", base_name(file), line, expr, what, (int)st);
  return st == CUBLAS_STATUS_ALLOC_FAILED ? INQ_ERR_OUT_OF_MEMORY : INQ_ERR_DEVICE;
}

void raise(cudaError_t err, const char* expr, const char* file, int line) {
  char msg[768];
  const int32_t status = status_of(err, expr, file, line, msg, sizeof msg);
  // Clear the (non-sticky) last error so the next launch check does not report this one again.
  (void)cudaGetLastError();
  record_fault(status, msg, is_sticky(err));
  throw Error{status, msg};
}

void raise_blas(cublasStatus_t st, const char* expr, const char* file, int line) {
  char msg[768];
  const int32_t status = status_of_blas(st, expr, file, line, msg, sizeof msg);
  record_fault(status, msg, false);
  throw Error{status, msg};
}

const Exec& exec() {
  INQ_CHECK(t_exec.stream != nullptr || t_exec.queue != nullptr, INQ_ERR_STATE,
            "a CUDA op was called with no CUDA queue bound on this thread (ops run inside a context call)");
  return t_exec;
}

const Exec& bound_exec() { return t_exec; }

Exec exchange_exec(const Exec& e) {
  const Exec prev = t_exec;
  t_exec = e;
  return prev;
}

const Blas& blas() {
  static Blas b{};
  static int32_t status = INQ_OK;
  static char message[512] = "";
  static std::once_flag once;
  std::call_once(once, [] {
    char name[64];
    std::snprintf(name, sizeof name, "libcublas.so.%d", (int)CUBLAS_VER_MAJOR);
    const char* tried[] = {name, "libcublas.so"};
    void* h = nullptr;
    for (const char* t : tried) {
      h = dlopen(t, RTLD_NOW | RTLD_LOCAL);
      if (h) {
        b.path = t;
        break;
      }
    }
    if (!h) {
      const char* why = dlerror();
      std::snprintf(message, sizeof message,
                    "cuBLAS could not be loaded (tried %s and libcublas.so: %s); install the CUDA %d libraries or "
                    "put them on LD_LIBRARY_PATH",
                    name, why ? why : "not found", (int)CUBLAS_VER_MAJOR);
      status = INQ_ERR_UNSUPPORTED;
      return;
    }
    struct Sym {
      void** slot;
      const char* name;
    } syms[] = {
        {(void**)&b.create, "cublasCreate_v2"},
        {(void**)&b.destroy, "cublasDestroy_v2"},
        {(void**)&b.set_stream, "cublasSetStream_v2"},
        {(void**)&b.set_workspace, "cublasSetWorkspace_v2"},
        {(void**)&b.set_math_mode, "cublasSetMathMode"},
        {(void**)&b.gemm_ex, "cublasGemmEx"},
        {(void**)&b.status_string, "cublasGetStatusString"},
    };
    for (const Sym& s : syms) {
      *s.slot = dlsym(h, s.name);
      if (!*s.slot) {
        std::snprintf(message, sizeof message, "%s has no symbol %s (a cuBLAS older than the headers we built with)",
                      b.path, s.name);
        status = INQ_ERR_UNSUPPORTED;
        b = Blas{};
        return;
      }
    }
  });
  INQ_CHECK(status == INQ_OK, status, "%s", message);
  return b;
}

}  // namespace cuda
}  // namespace inq
