#include "rope.cuh"

namespace inq {
namespace cuda {

namespace {

// BACKWARD: rotate by the negated angle (the transpose) and read the position of the gradient row's saved row.
// out may alias x: every pair is read and written by one thread.
template <bool BACKWARD>
__global__ void rope_kernel(float* out, const float* x, const int32_t* pos, const float* inv_freq, RowMap map, int W,
                            int n_heads, int hd, float theta) {
  extern __shared__ float angles[];  // cos[half] | sin[half]
  const int half = hd / 2;
  const int64_t n = blockIdx.x;
  const int p = BACKWARD ? pos[saved_row(map, n)] : pos[n];
  float* cs = angles;
  float* sn = angles + half;
  for (int i = threadIdx.x; i < half; i += blockDim.x) {
    const float e = (float)(2 * i) / (float)hd;
    const float inv = inv_freq ? inv_freq[i] : 1.0f / (float)pow((double)theta, (double)e);
    const double a = (double)((float)p * inv);
    cs[i] = (float)cos(a);
    sn[i] = (float)sin(a);
  }
  __syncthreads();
  const float sign = BACKWARD ? -1.0f : 1.0f;
  const float* xr = x + n * W;
  float* o = out + n * W;
  for (int k = threadIdx.x; k < n_heads * half; k += blockDim.x) {
    const int h = k / half, i = k - h * half;
    const int64_t a = (int64_t)h * hd + i;
    const float x1 = xr[a], x2 = xr[a + half], c = cs[i], s = sign * sn[i];
    o[a] = x1 * c - x2 * s;
    o[a + half] = x2 * c + x1 * s;
  }
  if (o != xr)
    for (int64_t c = (int64_t)n_heads * hd + threadIdx.x; c < W; c += blockDim.x) o[c] = xr[c];
}

}  // namespace

void rope_forward(float* out, const float* x, const int32_t* pos, const float* inv_freq, int N, int W, int n_heads,
                  int hd, float theta, cudaStream_t stream) {
  if (N <= 0) return;
  const size_t shared = sizeof(float) * (size_t)hd;
  rope_kernel<false><<<N, 128, shared, stream>>>(out, x, pos, inv_freq, RowMap{}, W, n_heads, hd, theta);
  CUDA_CHECK_LAUNCH();
}

void rope_backward(float* dx, const float* dy, const int32_t* pos, const float* inv_freq, RowMap map, int W,
                   int n_heads, int hd, float theta, cudaStream_t stream) {
  if (map.rows <= 0) return;
  const size_t shared = sizeof(float) * (size_t)hd;
  rope_kernel<true><<<map.rows, 128, shared, stream>>>(dx, dy, pos, inv_freq, map, W, n_heads, hd, theta);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace inq
