// Backend-neutral helpers: the error type thrown inside the library and turned into a status at the boundary,
// argument checks that name what was wrong, and the process-wide thread count (the only global mutable state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "inseq_native.h"

namespace inq {

// The arithmetic of a context's GEMMs: fp32 is the reference; TF32 and BF16 are opt-in tensor-core modes of the CUDA
// GEMMs (INQ_CTX_TF32 / INQ_CTX_BF16; operands and results stay fp32 in memory). The CPU always computes fp32.
enum class GemmMath { Fp32, Tf32, Bf16 };

// Thrown anywhere inside the library; caught only by the export layer (api.cpp), never crosses the C ABI.
struct Error {
  int32_t status;
  std::string message;  // "file:line: cause"
};

[[noreturn]] void fail(int32_t status, const char* file, int line, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define INQ_FAIL(status, ...) ::inq::fail((status), __FILE__, __LINE__, __VA_ARGS__)
#define INQ_CHECK(cond, status, ...)      \
  do {                                    \
    if (!(cond)) INQ_FAIL(status, __VA_ARGS__); \
  } while (0)
#define INQ_CHECK_NOT_NULL(ptr) INQ_CHECK((ptr) != nullptr, INQ_ERR_NULL_POINTER, "argument '%s' is NULL", #ptr)
#define INQ_CHECK_POSITIVE(v) \
  INQ_CHECK((v) > 0, INQ_ERR_INVALID_ARGUMENT, "argument '%s' must be > 0 (got %lld)", #v, (long long)(v))

// Threads used by OpenMP regions. n <= 0 restores the runtime default (OMP_NUM_THREADS or the core count).
void set_num_threads(int n);
int num_threads();

// 64-byte aligned allocation that throws INQ_ERR_OUT_OF_MEMORY naming the request on failure.
void* aligned_alloc_or_throw(size_t bytes, const char* what);
void aligned_free(void* p);

inline size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

}  // namespace inq
