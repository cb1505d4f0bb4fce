#include "cross_attention.cuh"

#include <cmath>

namespace inq {
namespace cuda {

namespace {

__device__ __forceinline__ float dot_seq(const float* a, const float* b, int n) {
  float s = 0.0f;
  for (int d = 0; d < n; ++d) s = fmaf(a[d], b[d], s);
  return s;
}

__global__ void cross_attention_forward_kernel(float* out, float* att, const float* q, const float* kv,
                                               const int32_t* mask, int B, int Tq, int Tk, int C, int H,
                                               int64_t q_stride, int64_t kv_stride, int causal, float scale,
                                               const float* bias) {
  INQ_GRID_STRIDE(idx, (int64_t)B * H * Tq) {
    const int i = (int)(idx % Tq);
    const int h = (int)((idx / Tq) % H);
    const int b = (int)(idx / ((int64_t)Tq * H));
    const int hd = C / H;
    const float* qi = q + ((int64_t)b * Tq + i) * q_stride + h * hd;
    const float* kb = kv + (int64_t)b * Tk * kv_stride + h * hd;
    const float* vb = kb + C;
    const int32_t* m = mask ? mask + (int64_t)b * Tk : nullptr;
    float* p = att + (((int64_t)b * H + h) * Tq + i) * Tk;
    float* o = out + ((int64_t)b * Tq + i) * C + h * hd;
    const float* bi = bias ? bias + ((int64_t)h * Tq + i) * Tk : nullptr;
    const int n = causal ? min(i + 1, Tk) : Tk;
    float maxv = -INFINITY;
    bool any = false;
    for (int j = 0; j < Tk; ++j) {
      if (j >= n || (m && !m[j])) {
        p[j] = 0.0f;
        continue;
      }
      const float s = dot_seq(qi, kb + j * kv_stride, hd) * scale + (bi ? bi[j] : 0.0f);
      p[j] = s;
      maxv = any ? fmaxf(maxv, s) : s;
      any = true;
    }
    for (int d = 0; d < hd; ++d) o[d] = 0.0f;
    if (!any) continue;
    float sum = 0.0f;
    for (int j = 0; j < n; ++j) {
      if (m && !m[j]) continue;
      const float e = expf(p[j] - maxv);
      p[j] = e;
      sum += e;
    }
    for (int j = 0; j < n; ++j) {
      if (m && !m[j]) continue;
      p[j] = p[j] / sum;
      const float pj = p[j];
      const float* vj = vb + j * kv_stride;
      for (int d = 0; d < hd; ++d) o[d] = fmaf(pj, vj[d], o[d]);
    }
  }
}

__global__ void cross_attention_backward_kernel(float* dq, float* dkv, float* scratch, const float* dout,
                                                const float* q, const float* kv, const float* att, int R, int n_cot,
                                                int Tq, int Tk, int C, int H, int64_t q_stride, int64_t kv_stride,
                                                float scale) {
  INQ_GRID_STRIDE(idx, (int64_t)R * H) {
    const int h = (int)(idx % H);
    const int r = (int)(idx / H);
    const int b = r / n_cot, hd = C / H;
    const float* kb = kv + (int64_t)b * Tk * kv_stride + h * hd;
    const float* vb = kb + C;
    float* gk = dkv + (int64_t)r * Tk * kv_stride + h * hd;
    float* gv = gk + C;
    for (int j = 0; j < Tk; ++j)
      for (int d = 0; d < hd; ++d) {
        gk[j * kv_stride + d] = 0.0f;
        gv[j * kv_stride + d] = 0.0f;
      }
    float* dp = scratch + ((int64_t)r * H + h) * Tk;
    for (int i = 0; i < Tq; ++i) {
      const float* p = att + (((int64_t)b * H + h) * Tq + i) * Tk;
      const float* go = dout + ((int64_t)r * Tq + i) * C + h * hd;
      const float* qi = q + ((int64_t)b * Tq + i) * q_stride + h * hd;
      float* g = dq + ((int64_t)r * Tq + i) * q_stride + h * hd;
      float s = 0.0f;
      for (int j = 0; j < Tk; ++j) {
        if (p[j] == 0.0f) continue;
        dp[j] = dot_seq(go, vb + j * kv_stride, hd);
        s = fmaf(p[j], dp[j], s);
      }
      for (int d = 0; d < hd; ++d) g[d] = 0.0f;
      for (int j = 0; j < Tk; ++j) {
        if (p[j] == 0.0f) continue;
        const float ds = p[j] * (dp[j] - s) * scale;
        const float* kj = kb + j * kv_stride;
        float* dk = gk + j * kv_stride;
        float* dv = gv + j * kv_stride;
        for (int d = 0; d < hd; ++d) {
          g[d] = fmaf(ds, kj[d], g[d]);
          dk[d] = fmaf(ds, qi[d], dk[d]);
          dv[d] = fmaf(p[j], go[d], dv[d]);
        }
      }
    }
  }
}

}  // namespace

void cross_attention_forward(float* out, float* att, const float* q, const float* kv, const int32_t* mask, int B,
                             int Tq, int Tk, int C, int H, int64_t q_stride, int64_t kv_stride, int causal,
                             float scale, const float* bias, cudaStream_t stream) {
  const int64_t n = (int64_t)B * H * Tq;
  if (n <= 0) return;
  cross_attention_forward_kernel<<<grid_for(n), kBlock, 0, stream>>>(out, att, q, kv, mask, B, Tq, Tk, C, H, q_stride,
                                                                     kv_stride, causal, scale, bias);
  CUDA_CHECK_LAUNCH();
}

void cross_attention_backward(float* dq, float* dkv, float* scratch, const float* dout, const float* q,
                              const float* kv, const float* att, int R, int n_cot, int Tq, int Tk, int C, int H,
                              int64_t q_stride, int64_t kv_stride, float scale, cudaStream_t stream) {
  const int64_t n = (int64_t)R * H;
  if (n <= 0) return;
  cross_attention_backward_kernel<<<grid_for(n), kBlock, 0, stream>>>(dq, dkv, scratch, dout, q, kv, att, R, n_cot,
                                                                      Tq, Tk, C, H, q_stride, kv_stride, scale);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace inq
