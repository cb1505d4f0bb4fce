#include "gelu.cuh"

#include "activation.cuh"

namespace inq {
namespace cuda {

namespace {

__global__ void activation_forward_kernel(float* out, const float* x, int64_t N, int kind) {
  INQ_GRID_STRIDE(i, N) out[i] = act(x[i], kind);
}

// dx may alias dy (elementwise).
__global__ void activation_backward_kernel(float* dx, const float* dy, const float* x, RowMap map, int W, int kind) {
  INQ_GRID_STRIDE(i, (int64_t)map.rows * W) {
    const int64_t n = i / W, c = i - n * W;
    dx[i] = dy[i] * act_grad(x[saved_row(map, n) * W + c], kind);
  }
}

}  // namespace

void activation_forward(float* out, const float* x, int64_t N, int kind, cudaStream_t stream) {
  if (N <= 0) return;
  activation_forward_kernel<<<grid_for(N), kBlock, 0, stream>>>(out, x, N, kind);
  CUDA_CHECK_LAUNCH();
}

void activation_backward(float* dx, const float* dy, const float* x, RowMap map, int W, int kind,
                         cudaStream_t stream) {
  if (map.rows <= 0) return;
  activation_backward_kernel<<<grid_for((int64_t)map.rows * W), kBlock, 0, stream>>>(dx, dy, x, map, W, kind);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace inq
