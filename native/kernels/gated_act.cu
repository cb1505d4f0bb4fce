#include "gated_act.cuh"

#include "activation.cuh"

namespace inq {
namespace cuda {

namespace {

__global__ void gated_act_forward_kernel(float* out, const float* gu, int64_t N, int I, int kind) {
  INQ_GRID_STRIDE(k, N * I) {
    const int64_t n = k / I, i = k - n * I;
    const float g = gu[n * 2 * I + i], u = gu[n * 2 * I + I + i];
    out[k] = act(g, kind) * u;
  }
}

__global__ void gated_act_backward_kernel(float* dgu, const float* dy, const float* gu, RowMap map, int I, int kind) {
  INQ_GRID_STRIDE(k, (int64_t)map.rows * I) {
    const int64_t n = k / I, i = k - n * I;
    const float* g = gu + saved_row(map, n) * 2 * I;
    const float d = dy[k], gi = g[i], ui = g[I + i];
    dgu[n * 2 * I + I + i] = d * act(gi, kind);
    dgu[n * 2 * I + i] = d * ui * act_grad(gi, kind);
  }
}

}  // namespace

void gated_act_forward(float* out, const float* gu, int64_t N, int I, int kind, cudaStream_t stream) {
  if (N <= 0) return;
  gated_act_forward_kernel<<<grid_for(N * I), kBlock, 0, stream>>>(out, gu, N, I, kind);
  CUDA_CHECK_LAUNCH();
}

void gated_act_backward(float* dgu, const float* dy, const float* gu, RowMap map, int I, int kind,
                        cudaStream_t stream) {
  if (map.rows <= 0) return;
  gated_act_backward_kernel<<<grid_for((int64_t)map.rows * I), kBlock, 0, stream>>>(dgu, dy, gu, map, I, kind);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace inq
