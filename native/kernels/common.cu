// The CUDA_CHECK family's functions, the thread's execution state, and cuBLAS loaded on first use.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

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

namespace {

// dlopen's error for the last failed attempt, kept for the message.
void note_dlerror(std::string& why, const char* tried) {
  const char* e = dlerror();
  if (!why.empty()) why += "; ";
  why += e ? e : tried;
}

// The cuBLAS of the CUDA major we were built with: its soname on the loader path first (LD_LIBRARY_PATH, ld.so.conf),
// then the toolkit folders that are often not on the loader path ($CUDA_HOME, $CUDA_PATH, /usr/local/cuda-<major>.<minor>,
// /usr/local/cuda), and last an unversioned libcublas.so, accepted only when cublasGetProperty reports our major
// (a libcublas.so of another major has another ABI).
void* open_cublas(std::string& path, std::string& why) {
  char soname[64];
  std::snprintf(soname, sizeof soname, "libcublas.so.%d", (int)CUBLAS_VER_MAJOR);
  if (void* h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) {
    path = soname;
    return h;
  }
  note_dlerror(why, soname);
  std::vector<std::string> dirs;
  for (const char* env : {"CUDA_HOME", "CUDA_PATH"})
    if (const char* v = std::getenv(env))
      if (*v) dirs.push_back(std::string(v) + "/lib64");
  char versioned[96];
  std::snprintf(versioned, sizeof versioned, "/usr/local/cuda-%d.%d/lib64", CUDART_VERSION / 1000,
                CUDART_VERSION % 1000 / 10);
  dirs.push_back(versioned);
  std::snprintf(versioned, sizeof versioned, "/usr/local/cuda-%d/lib64", CUDART_VERSION / 1000);
  dirs.push_back(versioned);
  dirs.push_back("/usr/local/cuda/lib64");
  for (const std::string& d : dirs) {
    const std::string full = d + "/" + soname;
    if (void* h = dlopen(full.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      path = full;
      return h;
    }
  }
  if (void* h = dlopen("libcublas.so", RTLD_NOW | RTLD_LOCAL)) {
    typedef cublasStatus_t (*GetProperty)(libraryPropertyType, int*);
    const GetProperty get = (GetProperty)dlsym(h, "cublasGetProperty");
    int major = -1;
    if (get && get(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS && major == (int)CUBLAS_VER_MAJOR) {
      path = "libcublas.so";
      return h;
    }
    char msg[128];
    std::snprintf(msg, sizeof msg, "libcublas.so is cuBLAS %d, not %d", major, (int)CUBLAS_VER_MAJOR);
    if (!why.empty()) why += "; ";
    why += msg;
    dlclose(h);
  } else {
    note_dlerror(why, "libcublas.so");
  }
  return nullptr;
}

}  // namespace

const Blas& blas() {
  static Blas b{};
  static int32_t status = INQ_OK;
  static char message[1024] = "";
  static std::string path;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string why;
    void* h = open_cublas(path, why);
    if (!h) {
      std::snprintf(message, sizeof message,
                    "cuBLAS %d could not be loaded (libcublas.so.%d on the loader path, in $CUDA_HOME/lib64, "
                    "$CUDA_PATH/lib64 or /usr/local/cuda*/lib64: %s); install the CUDA %d libraries or put them on "
                    "LD_LIBRARY_PATH",
                    (int)CUBLAS_VER_MAJOR, (int)CUBLAS_VER_MAJOR, why.c_str(), (int)CUBLAS_VER_MAJOR);
      status = INQ_ERR_UNSUPPORTED;
      return;
    }
    b.path = path.c_str();
    // The exported names are the _v2 ones (cublas_v2.h maps the plain names onto them); the plain name is the
    // fallback should a later cuBLAS export only that.
    struct Sym {
      void** slot;
      const char* name;
      const char* alt;
    } syms[] = {
        {(void**)&b.create, "cublasCreate_v2", "cublasCreate"},
        {(void**)&b.destroy, "cublasDestroy_v2", "cublasDestroy"},
        {(void**)&b.set_stream, "cublasSetStream_v2", "cublasSetStream"},
        {(void**)&b.set_workspace, "cublasSetWorkspace_v2", "cublasSetWorkspace"},
        {(void**)&b.set_math_mode, "cublasSetMathMode", nullptr},
        {(void**)&b.gemm_ex, "cublasGemmEx", nullptr},
        {(void**)&b.status_string, "cublasGetStatusString", nullptr},
    };
    for (const Sym& s : syms) {
      *s.slot = dlsym(h, s.name);
      if (!*s.slot && s.alt) *s.slot = dlsym(h, s.alt);
      if (!*s.slot) {
        std::snprintf(message, sizeof message, "%s has no symbol %s (a cuBLAS older than the headers we built with)",
                      path.c_str(), s.name);
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
