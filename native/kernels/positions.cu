#include "positions.cuh"

namespace inq {
namespace cuda {

namespace {

__global__ void sinusoidal_positions_kernel(float* out, const int32_t* pos, int N, int C) {
  INQ_GRID_STRIDE(i, (int64_t)N * C) {
    const int64_t n = i / C;
    const int c = (int)(i - n * C);
    const int half = (C + 1) / 2;
    const int j = c < half ? 2 * c : 2 * (c - half) + 1;
    const double angle = (double)pos[n] / pow(10000.0, 2.0 * (double)(j / 2) / (double)C);
    out[i] = (float)(c < half ? sin(angle) : cos(angle));
  }
}

}  // namespace

void sinusoidal_positions(float* out, const int32_t* pos, int N, int C, cudaStream_t stream) {
  if (N <= 0) return;
  sinusoidal_positions_kernel<<<grid_for((int64_t)N * C), kBlock, 0, stream>>>(out, pos, N, C);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace inq
