#include "gelu.cuh"

namespace inq {
namespace cuda {

namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;  // 1 / sqrt(2 pi)

// Accurate libm functions (tanhf, erff, expf), never the __ intrinsics: fp32 reference numerics.
__device__ __forceinline__ float act(float x, int kind) {
  switch (kind) {
    case INQ_ACT_GELU_TANH: {
      const float u = kSqrt2OverPi * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.0f + tanhf(u));
    }
    case INQ_ACT_GELU_ERF:
      return 0.5f * x * (1.0f + erff(x * kInvSqrt2));
    case INQ_ACT_RELU:
      return x > 0.0f ? x : 0.0f;
    default:  // INQ_ACT_SILU
      return x / (1.0f + expf(-x));
  }
}

__device__ __forceinline__ float act_grad(float x, int kind) {
  switch (kind) {
    case INQ_ACT_GELU_TANH: {
      const float u = kSqrt2OverPi * (x + 0.044715f * x * x * x);
      const float t = tanhf(u);
      const float du = kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * x * x);
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
    }
    case INQ_ACT_GELU_ERF:
      return 0.5f * (1.0f + erff(x * kInvSqrt2)) + x * kInvSqrt2Pi * expf(-0.5f * x * x);
    case INQ_ACT_RELU:
      return x > 0.0f ? 1.0f : 0.0f;
    default: {  // INQ_ACT_SILU
      const float s = 1.0f / (1.0f + expf(-x));
      return s * (1.0f + x * (1.0f - s));
    }
  }
}

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
