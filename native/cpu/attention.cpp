// Causal multi-head self-attention with a key padding mask, its input backward, and the one-query decode step that
// reads the KV cache. The forward and the decode step share attend_row so a cached step reproduces the full forward
// bit for bit.
#include <cmath>
#include <cstring>

#include "cpu.h"
#include "../src/common.h"

namespace inq {
namespace cpu {

namespace {

// Dot product with 8 independent partial sums combined in a fixed order: vectorizable without -ffast-math and
// deterministic.
inline float dot(const float* a, const float* b, int n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int d = 0;
  for (; d + 8 <= n; d += 8)
    for (int l = 0; l < 8; ++l) acc[l] += a[d + l] * b[d + l];
  for (; d < n; ++d) acc[d & 7] += a[d] * b[d];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

// One query against keys 0..n-1 (key j at k + j*stride, value at v + j*stride), key j visible iff visible[j] != 0
// (visible NULL: all). Writes probabilities p[0..n) (0 where masked) and out[0..hd).
inline void attend_row(float* out, float* p, const float* q, const float* k, const float* v, int64_t stride,
                       const int32_t* visible, int n, int hd, float scale) {
  float maxv = -INFINITY;
  bool any = false;
  for (int j = 0; j < n; ++j) {
    if (visible && !visible[j]) {
      p[j] = 0.0f;
      continue;
    }
    const float s = dot(q, k + j * stride, hd) * scale;
    p[j] = s;
    if (!any || s > maxv) maxv = s;
    any = true;
  }
  for (int d = 0; d < hd; ++d) out[d] = 0.0f;
  if (!any) return;
  float sum = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (visible && !visible[j]) continue;
    const float e = std::exp(p[j] - maxv);
    p[j] = e;
    sum += e;
  }
  for (int j = 0; j < n; ++j) {
    if (visible && !visible[j]) continue;
    p[j] = p[j] / sum;
    const float pj = p[j];
    const float* vj = v + j * stride;
    for (int d = 0; d < hd; ++d) out[d] += pj * vj[d];
  }
}

}  // namespace

void attention_forward(float* out, float* att, const float* qkv, const int32_t* mask, int B, int T, int C, int H,
                       float scale) {
  const int hd = C / H;
  const int64_t C3 = 3 * (int64_t)C;
#pragma omp parallel for collapse(3) schedule(dynamic, 4) num_threads(num_threads())
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < T; ++i) {
        const float* base = qkv + (int64_t)b * T * C3;
        float* p = att + (((int64_t)b * H + h) * T + i) * T;
        attend_row(out + ((int64_t)b * T + i) * C + h * hd, p, base + i * C3 + h * hd, base + C + h * hd,
                   base + 2 * C + h * hd, C3, mask ? mask + (int64_t)b * T : nullptr, i + 1, hd, scale);
        for (int j = i + 1; j < T; ++j) p[j] = 0.0f;
      }
}

void attention_backward(float* dqkv, float* scratch, const float* dout, const float* qkv, const float* att, RowMap map,
                        int C, int H, float scale) {
  const int hd = C / H;
  const int64_t C3 = 3 * (int64_t)C;
  const int Ts = map.T_saved;
#pragma omp parallel for collapse(2) schedule(dynamic, 1) num_threads(num_threads())
  for (int r = 0; r < map.R; ++r)
    for (int h = 0; h < H; ++h) {
      const int b = r / map.n_cot, T = map.len(r);
      const float* saved = qkv + (int64_t)b * Ts * C3;
      float* dp = scratch + ((int64_t)r * H + h) * Ts;
      float* g = dqkv + (int64_t)map.start[r] * C3;
      for (int t = 0; t < T; ++t) {
        std::memset(g + t * C3 + C + h * hd, 0, sizeof(float) * hd);
        std::memset(g + t * C3 + 2 * C + h * hd, 0, sizeof(float) * hd);
      }
      for (int i = 0; i < T; ++i) {
        const float* p = att + (((int64_t)b * H + h) * Ts + i) * Ts;
        const float* go = dout + ((int64_t)map.start[r] + i) * C + h * hd;
        const float* qi = saved + i * C3 + h * hd;
        float* dq = g + i * C3 + h * hd;
        float s = 0.0f;
        for (int j = 0; j <= i; ++j) {
          if (p[j] == 0.0f) continue;  // masked (or underflowed): contributes exactly nothing
          dp[j] = dot(go, saved + j * C3 + 2 * C + h * hd, hd);
          s += p[j] * dp[j];
        }
        for (int d = 0; d < hd; ++d) dq[d] = 0.0f;
        for (int j = 0; j <= i; ++j) {
          if (p[j] == 0.0f) continue;
          const float ds = p[j] * (dp[j] - s) * scale;
          const float* kj = saved + j * C3 + C + h * hd;
          float* dk = g + j * C3 + C + h * hd;
          float* dv = g + j * C3 + 2 * C + h * hd;
          for (int d = 0; d < hd; ++d) {
            dq[d] += ds * kj[d];
            dk[d] += ds * qi[d];
            dv[d] += p[j] * go[d];
          }
        }
      }
    }
}

void kv_cache_write(float* kcache, float* vcache, const float* qkv, int B, int T, int S, int pos0, int C) {
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) {
      const float* src = qkv + ((int64_t)b * T + t) * 3 * C;
      const int64_t dst = ((int64_t)b * S + pos0 + t) * C;
      std::memcpy(kcache + dst, src + C, sizeof(float) * C);
      std::memcpy(vcache + dst, src + 2 * C, sizeof(float) * C);
    }
}

void attention_decode(float* out, float* att, const float* qkv, const float* kcache, const float* vcache,
                      const int32_t* mask, int B, int n_keys, int S, int C, int H, float scale) {
  const int hd = C / H;
#pragma omp parallel for collapse(2) schedule(static) num_threads(num_threads())
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      attend_row(out + (int64_t)b * C + h * hd, att + ((int64_t)b * H + h) * n_keys, qkv + (int64_t)b * 3 * C + h * hd,
                 kcache + (int64_t)b * S * C + h * hd, vcache + (int64_t)b * S * C + h * hd, C,
                 mask + (int64_t)b * S, n_keys, hd, scale);
}

}  // namespace cpu
}  // namespace inq
