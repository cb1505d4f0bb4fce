// Shared by every CUDA op family: the CUDA_CHECK macro family, the execution state the ops of the calling thread
// run on (stream, cuBLAS handle, math mode), launch sizes, deterministic block reductions and the RowMap on device.
//
// Errors: a failing CUDA or cuBLAS call becomes inq::Error (status + "file:line: call failed: cause"), which the
// export layer returns as a status; nothing aborts. INQ_ERR_OUT_OF_MEMORY for allocation failures, INQ_ERR_DEVICE
// otherwise. A device fault marks the queue it happened on unusable, and a sticky fault (illegal address, kernel
// trap, ...) corrupts the whole CUDA context, so it marks the device unusable too (kernels/device.cu).
#pragma once

#include <cuda_runtime.h>
#include <cublas_v2.h>

#include <cstdint>

#include "../src/common.h"
#include "../src/ops.h"

namespace inq {
namespace cuda {

// ---------------------------------------------------------------- errors

// Status and message of a CUDA runtime result (INQ_OK for cudaSuccess); never throws. msg gets "file:line: ...".
int32_t status_of(cudaError_t err, const char* expr, const char* file, int line, char* msg, size_t cap);
int32_t status_of_blas(cublasStatus_t st, const char* expr, const char* file, int line, char* msg, size_t cap);
// True for the errors after which the CUDA context cannot be used any more.
bool is_sticky(cudaError_t err);
// Throws inq::Error for a failed call after recording the fault (queue / device unusable).
[[noreturn]] void raise(cudaError_t err, const char* expr, const char* file, int line);
[[noreturn]] void raise_blas(cublasStatus_t st, const char* expr, const char* file, int line);

#define CUDA_CHECK(expr)                                                                 \
  do {                                                                                   \
    const cudaError_t inq_cuda_err_ = (expr);                                            \
    if (inq_cuda_err_ != cudaSuccess) ::inq::cuda::raise(inq_cuda_err_, #expr, __FILE__, __LINE__); \
  } while (0)
// After a <<<...>>> launch: configuration errors surface here, faults at the next synchronizing call.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaPeekAtLastError())
#define CUBLAS_CHECK(expr)                                                                      \
  do {                                                                                          \
    const cublasStatus_t inq_blas_st_ = (expr);                                                 \
    if (inq_blas_st_ != CUBLAS_STATUS_SUCCESS) ::inq::cuda::raise_blas(inq_blas_st_, #expr, __FILE__, __LINE__); \
  } while (0)
// For destructors and cleanup paths that must not throw: the status is returned and the message dropped.
#define CUDA_TRY(expr) ((expr) == cudaSuccess ? (int32_t)INQ_OK : (int32_t)INQ_ERR_DEVICE)

// ---------------------------------------------------------------- execution state

class CudaQueue;

// What the ops of the calling thread run on: bound by a context's queue (or an inq_op_run call) for the duration of
// one export call. The ops table has the CPU's signatures, so the stream reaches the launchers through here.
struct Exec {
  int device = -1;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  GemmMath math = GemmMath::Fp32;
  CudaQueue* queue = nullptr;
};

// The calling thread's bound execution state; INQ_ERR_STATE when no queue is bound (an op called outside a context).
const Exec& exec();
// The same without the check (an empty Exec when nothing is bound).
const Exec& bound_exec();
// Installs e as the calling thread's state and returns the previous one.
Exec exchange_exec(const Exec& e);

// ---------------------------------------------------------------- cuBLAS, loaded on first use

// The cuBLAS entry points we use, resolved from libcublas.so.<major> by dlopen on first use, so that the CUDA
// flavour loads (and runs its CPU backend) on machines without the CUDA libraries. INQ_ERR_UNSUPPORTED naming the
// library when it cannot be loaded.
struct Blas {
  cublasStatus_t (*create)(cublasHandle_t*);
  cublasStatus_t (*destroy)(cublasHandle_t);
  cublasStatus_t (*set_stream)(cublasHandle_t, cudaStream_t);
  cublasStatus_t (*set_workspace)(cublasHandle_t, void*, size_t);
  cublasStatus_t (*set_math_mode)(cublasHandle_t, cublasMath_t);
  cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                            const void*, cudaDataType, int, const void*, cudaDataType, int, const void*, void*,
                            cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
  const char* (*status_string)(cublasStatus_t);
  const char* path;
};
const Blas& blas();

// ---------------------------------------------------------------- launch helpers

constexpr int kBlock = 256;  // threads of the elementwise and per-row kernels

inline unsigned grid_for(int64_t n, int block = kBlock) {
  int64_t g = (n + block - 1) / block;
  if (g < 1) g = 1;
  if (g > 65535LL * 32) g = 65535LL * 32;  // grid-stride loops cover the rest
  return (unsigned)g;
}

#define INQ_GRID_STRIDE(i, n) \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

// Gradient row n of a RowMap reads saved row (r / n_cot) * T_saved + (n - start[r]) with r = owner[n] (ops.h);
// start and owner are device arrays here.
__device__ __forceinline__ int64_t saved_row(const RowMap& m, int64_t n) {
  const int r = m.owner[n];
  return (int64_t)(r / m.n_cot) * m.T_saved + (n - m.start[r]);
}

// ---------------------------------------------------------------- deterministic block reductions
// Fixed shuffle pattern within warps, then warp partials combined by warp 0 in index order: the same inputs give
// the same bits whatever the scheduling. Every thread of the block must call them; all get the result.

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return __shfl_sync(0xffffffffu, v, 0);
}

template <typename T>
__device__ __forceinline__ T warp_max(T v) {
  for (int o = 16; o > 0; o >>= 1) {
    const T w = __shfl_down_sync(0xffffffffu, v, o);
    v = w > v ? w : v;
  }
  return __shfl_sync(0xffffffffu, v, 0);
}

// shared: at least 32 elements of T, not in use by the caller during the call.
template <typename T>
__device__ T block_sum(T v, T* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  __syncthreads();  // shared may still be read by a previous reduction
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    T s = lane < n_warps ? shared[lane] : T(0);
    s = warp_sum(s);
    if (lane == 0) shared[0] = s;
  }
  __syncthreads();
  return shared[0];
}

template <typename T>
__device__ T block_max(T v, T* shared, T lowest) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = (blockDim.x + 31) >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    T s = lane < n_warps ? shared[lane] : lowest;
    s = warp_max(s);
    if (lane == 0) shared[0] = s;
  }
  __syncthreads();
  return shared[0];
}

}  // namespace cuda
}  // namespace inq
