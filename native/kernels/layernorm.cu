#include "layernorm.cuh"

namespace inq {
namespace cuda {

namespace {

__global__ void layernorm_forward_kernel(float* out, float* mean, float* rstd, const float* x, const float* w,
                                         const float* b, int C, float eps) {
  __shared__ double sh[32];
  const int64_t n = blockIdx.x;
  const float* xr = x + n * C;
  double s = 0.0;
  for (int c = threadIdx.x; c < C; c += blockDim.x) s += xr[c];
  const double m = block_sum(s, sh) / C;
  double v = 0.0;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    const double d = xr[c] - m;
    v += d * d;
  }
  v = block_sum(v, sh) / C;
  const float mf = (float)m;
  const float rs = (float)(1.0 / sqrt(v + (double)eps));
  float* o = out + n * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) o[c] = (xr[c] - mf) * rs * w[c] + b[c];
  if (threadIdx.x == 0) {
    mean[n] = mf;
    rstd[n] = rs;
  }
}

// dx may alias dy: each element of dy is last read by the thread that writes the same element of dx.
__global__ void layernorm_backward_kernel(float* dx, const float* dy, const float* x, const float* w,
                                          const float* mean, const float* rstd, RowMap map, int C) {
  __shared__ double sh[32];
  const int64_t n = blockIdx.x;
  const int64_t s = saved_row(map, n);
  const float* xr = x + s * C;
  const float* g = dy + n * C;
  const float m = mean[s], rs = rstd[s];
  double sum_g = 0.0, sum_gx = 0.0;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    const float gn = g[c] * w[c];
    const float xh = (xr[c] - m) * rs;
    sum_g += gn;
    sum_gx += (double)gn * xh;
  }
  sum_g = block_sum(sum_g, sh);
  sum_gx = block_sum(sum_gx, sh);
  const float mg = (float)(sum_g / C), mgx = (float)(sum_gx / C);
  float* o = dx + n * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    const float xh = (xr[c] - m) * rs;
    o[c] = rs * (g[c] * w[c] - mg - xh * mgx);
  }
}

}  // namespace

void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b, int N,
                       int C, float eps, cudaStream_t stream) {
  if (N <= 0) return;
  layernorm_forward_kernel<<<N, kBlock, 0, stream>>>(out, mean, rstd, x, w, b, C, eps);
  CUDA_CHECK_LAUNCH();
}

void layernorm_backward(float* dx, const float* dy, const float* x, const float* w, const float* mean,
                        const float* rstd, RowMap map, int C, cudaStream_t stream) {
  if (map.rows <= 0) return;
  layernorm_backward_kernel<<<map.rows, kBlock, 0, stream>>>(dx, dy, x, w, mean, rstd, map, C);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace inq
