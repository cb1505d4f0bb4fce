#include "rmsnorm.cuh"

namespace inq {
namespace cuda {

namespace {

__global__ void rmsnorm_forward_kernel(float* out, float* rstd, const float* x, const float* w, int C, float eps) {
  __shared__ double sh[32];
  const int64_t n = blockIdx.x;
  const float* xr = x + n * C;
  double ss = 0.0;
  for (int c = threadIdx.x; c < C; c += blockDim.x) ss += (double)xr[c] * xr[c];
  ss = block_sum(ss, sh);
  const float rs = (float)(1.0 / sqrt(ss / C + (double)eps));
  float* o = out + n * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) o[c] = w[c] * (xr[c] * rs);
  if (threadIdx.x == 0) rstd[n] = rs;
}

// dx = rstd * (g*w - xhat * mean(g*w*xhat)), xhat = x * rstd. dx may alias dy (same thread reads, then writes).
__global__ void rmsnorm_backward_kernel(float* dx, const float* dy, const float* x, const float* w, const float* rstd,
                                        RowMap map, int C) {
  __shared__ double sh[32];
  const int64_t n = blockIdx.x;
  const int64_t s = saved_row(map, n);
  const float* xr = x + s * C;
  const float* g = dy + n * C;
  const float rs = rstd[s];
  double sum_gx = 0.0;
  for (int c = threadIdx.x; c < C; c += blockDim.x) sum_gx += (double)(g[c] * w[c]) * (xr[c] * rs);
  sum_gx = block_sum(sum_gx, sh);
  const float mgx = (float)(sum_gx / C);
  float* o = dx + n * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) o[c] = rs * (g[c] * w[c] - (xr[c] * rs) * mgx);
}

}  // namespace

void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int N, int C, float eps,
                     cudaStream_t stream) {
  if (N <= 0) return;
  rmsnorm_forward_kernel<<<N, kBlock, 0, stream>>>(out, rstd, x, w, C, eps);
  CUDA_CHECK_LAUNCH();
}

void rmsnorm_backward(float* dx, const float* dy, const float* x, const float* w, const float* rstd, RowMap map,
                      int C, cudaStream_t stream) {
  if (map.rows <= 0) return;
  rmsnorm_backward_kernel<<<map.rows, kBlock, 0, stream>>>(dx, dy, x, w, rstd, map, C);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace inq
