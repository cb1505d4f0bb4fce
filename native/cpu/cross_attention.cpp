// Attention over separate query and key/value rows: bidirectional encoder self-attention (causal = 0), decoder
// cross-attention (queries from the decoder, keys/values from the encoder output) and, with causal = 1, a causal
// self-attention over the same layout. Key padding mask [B,Tk]; kept probabilities [B,H,Tq,Tk]; input backward to
// the queries and to the keys/values. An optional [H,Tq,Tk] bias (T5's relative positions) joins the scaled scores.
#include <cmath>
#include <cstring>

#include "cpu.h"
#include "../src/common.h"

namespace inq {
namespace cpu {

namespace {

// Same 8-way fixed-order dot product as cpu/attention.cpp (deterministic, vectorizable without -ffast-math).
inline float dot8(const float* a, const float* b, int n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int d = 0;
  for (; d + 8 <= n; d += 8)
    for (int l = 0; l < 8; ++l) acc[l] += a[d + l] * b[d + l];
  for (; d < n; ++d) acc[d & 7] += a[d] * b[d];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

}  // namespace

void cross_attention_forward(float* out, float* att, const float* q, const float* kv, const int32_t* mask, int B,
                             int Tq, int Tk, int C, int H, int64_t q_stride, int64_t kv_stride, int causal,
                             float scale, const float* bias) {
  const int hd = C / H;
#pragma omp parallel for collapse(3) schedule(dynamic, 4) num_threads(num_threads())
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < Tq; ++i) {
        const float* qi = q + ((int64_t)b * Tq + i) * q_stride + h * hd;
        const float* kb = kv + (int64_t)b * Tk * kv_stride + h * hd;
        const float* vb = kb + C;
        const int32_t* m = mask ? mask + (int64_t)b * Tk : nullptr;
        float* p = att + (((int64_t)b * H + h) * Tq + i) * Tk;
        float* o = out + ((int64_t)b * Tq + i) * C + h * hd;
        const float* bi = bias ? bias + ((int64_t)h * Tq + i) * Tk : nullptr;
        const int n = causal ? (i + 1 < Tk ? i + 1 : Tk) : Tk;
        float maxv = -INFINITY;
        bool any = false;
        for (int j = 0; j < Tk; ++j) {
          if (j >= n || (m && !m[j])) {
            p[j] = 0.0f;
            continue;
          }
          const float s = dot8(qi, kb + j * kv_stride, hd) * scale + (bi ? bi[j] : 0.0f);
          p[j] = s;
          if (!any || s > maxv) maxv = s;
          any = true;
        }
        for (int d = 0; d < hd; ++d) o[d] = 0.0f;
        if (!any) continue;
        float sum = 0.0f;
        for (int j = 0; j < n; ++j) {
          if (m && !m[j]) continue;
          const float e = std::exp(p[j] - maxv);
          p[j] = e;
          sum += e;
        }
        for (int j = 0; j < n; ++j) {
          if (m && !m[j]) continue;
          p[j] = p[j] / sum;
          const float pj = p[j];
          const float* vj = vb + j * kv_stride;
          for (int d = 0; d < hd; ++d) o[d] += pj * vj[d];
        }
      }
}

// One thread per (cotangent row, head): head h owns columns h*hd.. of dq, dk and dv, so threads never share an output
// element and the sums run in a fixed order.
void cross_attention_backward(float* dq, float* dkv, float* scratch, const float* dout, const float* q,
                              const float* kv, const float* att, int R, int n_cot, int Tq, int Tk, int C, int H,
                              int64_t q_stride, int64_t kv_stride, float scale) {
  const int hd = C / H;
#pragma omp parallel for collapse(2) schedule(dynamic, 1) num_threads(num_threads())
  for (int r = 0; r < R; ++r)
    for (int h = 0; h < H; ++h) {
      const int b = r / n_cot;
      const float* kb = kv + (int64_t)b * Tk * kv_stride + h * hd;
      const float* vb = kb + C;
      float* gk = dkv + (int64_t)r * Tk * kv_stride + h * hd;
      float* gv = gk + C;
      for (int j = 0; j < Tk; ++j) {
        std::memset(gk + j * kv_stride, 0, sizeof(float) * hd);
        std::memset(gv + j * kv_stride, 0, sizeof(float) * hd);
      }
      float* dp = scratch + ((int64_t)r * H + h) * Tk;
      for (int i = 0; i < Tq; ++i) {
        const float* p = att + (((int64_t)b * H + h) * Tq + i) * Tk;
        const float* go = dout + ((int64_t)r * Tq + i) * C + h * hd;
        const float* qi = q + ((int64_t)b * Tq + i) * q_stride + h * hd;
        float* g = dq + ((int64_t)r * Tq + i) * q_stride + h * hd;
        float s = 0.0f;
        for (int j = 0; j < Tk; ++j) {
          if (p[j] == 0.0f) continue;  // masked (or underflowed): contributes exactly nothing
          dp[j] = dot8(go, vb + j * kv_stride, hd);
          s += p[j] * dp[j];
        }
        for (int d = 0; d < hd; ++d) g[d] = 0.0f;
        for (int j = 0; j < Tk; ++j) {
          if (p[j] == 0.0f) continue;
          const float ds = p[j] * (dp[j] - s) * scale;
          const float* kj = kb + j * kv_stride;
          float* dk = gk + j * kv_stride;
          float* dv = gv + j * kv_stride;
          for (int d = 0; d < hd; ++d) {
            g[d] += ds * kj[d];
            dk[d] += ds * qi[d];
            dv[d] += p[j] * go[d];
          }
        }
      }
    }
}

}  // namespace cpu
}  // namespace inq
