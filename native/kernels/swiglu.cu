#include "swiglu.cuh"

namespace inq {
namespace cuda {

namespace {

__global__ void swiglu_forward_kernel(float* out, const float* gu, int64_t N, int I) {
  INQ_GRID_STRIDE(k, N * I) {
    const int64_t n = k / I, i = k - n * I;
    const float g = gu[n * 2 * I + i], u = gu[n * 2 * I + I + i];
    out[k] = g / (1.0f + expf(-g)) * u;
  }
}

__global__ void swiglu_backward_kernel(float* dgu, const float* dy, const float* gu, RowMap map, int I) {
  INQ_GRID_STRIDE(k, (int64_t)map.rows * I) {
    const int64_t n = k / I, i = k - n * I;
    const float* g = gu + saved_row(map, n) * 2 * I;
    const float d = dy[k], gi = g[i], ui = g[I + i];
    const float s = 1.0f / (1.0f + expf(-gi));
    dgu[n * 2 * I + I + i] = d * gi * s;
    dgu[n * 2 * I + i] = d * ui * s * (1.0f + gi * (1.0f - s));
  }
}

}  // namespace

void swiglu_forward(float* out, const float* gu, int64_t N, int I, cudaStream_t stream) {
  if (N <= 0) return;
  swiglu_forward_kernel<<<grid_for(N * I), kBlock, 0, stream>>>(out, gu, N, I);
  CUDA_CHECK_LAUNCH();
}

void swiglu_backward(float* dgu, const float* dy, const float* gu, RowMap map, int I, cudaStream_t stream) {
  if (map.rows <= 0) return;
  swiglu_backward_kernel<<<grid_for((int64_t)map.rows * I), kBlock, 0, stream>>>(dgu, dy, gu, map, I);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace inq
