#include "matmul.cuh"

namespace inq {
namespace cuda {

namespace {

constexpr size_t kWorkspaceBytes = 32u << 20;
constexpr size_t kAlign = 256;  // cuBLAS rejects workspaces aligned to less

// out[n, m] = acc + bias[m], as the CPU adds the bias after the sum.
__global__ void add_bias_kernel(float* out, const float* bias, int64_t N, int M) {
  INQ_GRID_STRIDE(i, N * M) out[i] += bias[i % M];
}

// Row-major C[rows, cols] = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: every call below passes the row-major
// operands in swapped order.
void gemm(cublasOperation_t opa, cublasOperation_t opb, int m, int n, int k, const float* a, int lda, const float* b,
          int ldb, float* c, int ldc, const Workspace& ws, cudaStream_t stream) {
  const Exec& e = exec();
  INQ_CHECK(e.stream == stream, INQ_ERR_INTERNAL, "matmul launched on a stream other than the bound queue's");
  const Blas& bl = blas();
  if (ws.data != nullptr && ws.floats_per_slot * sizeof(float) > kAlign) {
    const uintptr_t p = (uintptr_t)ws.data, q = (p + kAlign - 1) / kAlign * kAlign;
    const size_t bytes = ws.floats_per_slot * sizeof(float) - (size_t)(q - p);
    CUBLAS_CHECK(bl.set_workspace(e.blas, (void*)q, bytes < kWorkspaceBytes ? bytes : kWorkspaceBytes));
  }
  const float alpha = 1.0f, beta = 0.0f;
  // fp32 operands and results in every mode; TF32 / BF16 round the operands inside the tensor cores.
  const cublasComputeType_t compute = e.math == GemmMath::Tf32   ? CUBLAS_COMPUTE_32F_FAST_TF32
                                      : e.math == GemmMath::Bf16 ? CUBLAS_COMPUTE_32F_FAST_16BF
                                                                 : CUBLAS_COMPUTE_32F;
  CUBLAS_CHECK(bl.gemm_ex(e.blas, opa, opb, m, n, k, &alpha, a, CUDA_R_32F, lda, b, CUDA_R_32F, ldb, &beta, c,
                          CUDA_R_32F, ldc, compute, CUBLAS_GEMM_DEFAULT));
}

}  // namespace

size_t matmul_workspace_floats() { return (kWorkspaceBytes + kAlign) / sizeof(float); }

// out[N,M] = x[N,K] . W (+ bias); W is [K,M] (transB = 0) or [M,K] (transB = 1), row-major.
void matmul_forward(float* out, const float* x, const float* w, const float* bias, int N, int K, int M, int transB,
                    const Workspace& ws, cudaStream_t stream) {
  if (N <= 0 || M <= 0) return;
  if (transB)
    gemm(CUBLAS_OP_T, CUBLAS_OP_N, M, N, K, w, K, x, K, out, M, ws, stream);
  else
    gemm(CUBLAS_OP_N, CUBLAS_OP_N, M, N, K, w, M, x, K, out, M, ws, stream);
  if (bias) {
    add_bias_kernel<<<grid_for((int64_t)N * M), kBlock, 0, stream>>>(out, bias, N, M);
    CUDA_CHECK_LAUNCH();
  }
}

// dx[N,K] = dy[N,M] . W^T for the same W layouts.
void matmul_backward_input(float* dx, const float* dy, const float* w, int N, int K, int M, int transB,
                           const Workspace& ws, cudaStream_t stream) {
  if (N <= 0 || K <= 0) return;
  if (transB)
    gemm(CUBLAS_OP_N, CUBLAS_OP_N, K, N, M, w, K, dy, M, dx, K, ws, stream);
  else
    gemm(CUBLAS_OP_T, CUBLAS_OP_N, K, N, M, w, M, dy, M, dx, K, ws, stream);
}

}  // namespace cuda
}  // namespace inq
