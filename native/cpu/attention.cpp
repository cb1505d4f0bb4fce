// Causal multi-head (or grouped-query) self-attention with a key padding mask and an optional sliding window, its
// input backward, and the one-query decode step that reads the KV cache. The forward and the decode step share
// attend_row so a cached step reproduces the full forward bit for bit.
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

// First key a query at index i may see: keys i - j >= window fall outside a sliding window (window 0: none).
inline int window_start(int i, int window) { return window > 0 && i >= window ? i - window + 1 : 0; }

// One query against keys 0..n-1 (key j at k + j*stride, value at v + j*stride), key j visible iff j >= first and
// visible[j] != 0 (visible NULL: all). Writes probabilities p[0..n) (0 where masked) and out[0..hd).
inline void attend_row(float* out, float* p, const float* q, const float* k, const float* v, int64_t stride,
                       const int32_t* visible, int first, int n, int hd, float scale) {
  float maxv = -INFINITY;
  bool any = false;
  for (int j = 0; j < first; ++j) p[j] = 0.0f;
  for (int j = first; j < n; ++j) {
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
  for (int j = first; j < n; ++j) {
    if (visible && !visible[j]) continue;
    const float e = std::exp(p[j] - maxv);
    p[j] = e;
    sum += e;
  }
  for (int j = first; j < n; ++j) {
    if (visible && !visible[j]) continue;
    p[j] = p[j] / sum;
    const float pj = p[j];
    const float* vj = v + j * stride;
    for (int d = 0; d < hd; ++d) out[d] += pj * vj[d];
  }
}

}  // namespace

void attention_forward(float* out, float* att, const float* qkv, const int32_t* mask, int B, int T, int C, int H,
                       int KVH, int window, float scale) {
  const int hd = C / H, group = H / KVH;
  const int64_t KVC = (int64_t)KVH * hd, W = C + 2 * KVC;
#pragma omp parallel for collapse(3) schedule(dynamic, 4) num_threads(num_threads())
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < T; ++i) {
        const float* base = qkv + (int64_t)b * T * W;
        const int64_t kv = (int64_t)(h / group) * hd;
        float* p = att + (((int64_t)b * H + h) * T + i) * T;
        attend_row(out + ((int64_t)b * T + i) * C + h * hd, p, base + i * W + h * hd, base + C + kv,
                   base + C + KVC + kv, W, mask ? mask + (int64_t)b * T : nullptr, window_start(i, window), i + 1,
                   hd, scale);
        for (int j = i + 1; j < T; ++j) p[j] = 0.0f;
      }
}

// One thread per (cotangent row, key/value head): the query heads of a group accumulate into the same dk and dv
// columns one after another, so the result does not depend on the thread count.
void attention_backward(float* dqkv, float* scratch, const float* dout, const float* qkv, const float* att, RowMap map,
                        int C, int H, int KVH, float scale) {
  const int hd = C / H, group = H / KVH;
  const int64_t KVC = (int64_t)KVH * hd, W = C + 2 * KVC;
  const int Ts = map.T_saved;
#pragma omp parallel for collapse(2) schedule(dynamic, 1) num_threads(num_threads())
  for (int r = 0; r < map.R; ++r)
    for (int gk = 0; gk < KVH; ++gk) {
      const int b = r / map.n_cot, T = map.len(r);
      const float* saved = qkv + (int64_t)b * Ts * W;
      float* g = dqkv + (int64_t)map.start[r] * W;
      const int64_t ko = C + (int64_t)gk * hd, vo = C + KVC + (int64_t)gk * hd;
      for (int t = 0; t < T; ++t) {
        std::memset(g + t * W + ko, 0, sizeof(float) * hd);
        std::memset(g + t * W + vo, 0, sizeof(float) * hd);
      }
      for (int h = gk * group; h < (gk + 1) * group; ++h) {
        float* dp = scratch + ((int64_t)r * H + h) * Ts;
        for (int i = 0; i < T; ++i) {
          const float* p = att + (((int64_t)b * H + h) * Ts + i) * Ts;
          const float* go = dout + ((int64_t)map.start[r] + i) * C + h * hd;
          const float* qi = saved + i * W + h * hd;
          float* dq = g + i * W + h * hd;
          float s = 0.0f;
          for (int j = 0; j <= i; ++j) {
            if (p[j] == 0.0f) continue;  // masked (or underflowed): contributes exactly nothing
            dp[j] = dot(go, saved + j * W + vo, hd);
            s += p[j] * dp[j];
          }
          for (int d = 0; d < hd; ++d) dq[d] = 0.0f;
          for (int j = 0; j <= i; ++j) {
            if (p[j] == 0.0f) continue;
            const float ds = p[j] * (dp[j] - s) * scale;
            const float* kj = saved + j * W + ko;
            float* dk = g + j * W + ko;
            float* dv = g + j * W + vo;
            for (int d = 0; d < hd; ++d) {
              dq[d] += ds * kj[d];
              dk[d] += ds * qi[d];
              dv[d] += p[j] * go[d];
            }
          }
        }
      }
    }
}

void kv_cache_write(float* kcache, float* vcache, const float* qkv, int B, int T, int S, int pos0, int C, int H,
                    int KVH) {
  const int64_t KVC = (int64_t)KVH * (C / H), W = C + 2 * KVC;
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) {
      const float* src = qkv + ((int64_t)b * T + t) * W;
      const int64_t dst = ((int64_t)b * S + pos0 + t) * KVC;
      std::memcpy(kcache + dst, src + C, sizeof(float) * KVC);
      std::memcpy(vcache + dst, src + C + KVC, sizeof(float) * KVC);
    }
}

void attention_decode(float* out, float* att, const float* qkv, const float* kcache, const float* vcache,
                      const int32_t* mask, int B, int n_keys, int S, int C, int H, int KVH, int window,
                      float scale) {
  const int hd = C / H, group = H / KVH;
  const int64_t KVC = (int64_t)KVH * hd, W = C + 2 * KVC;
#pragma omp parallel for collapse(2) schedule(static) num_threads(num_threads())
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      const int64_t kv = (int64_t)(h / group) * hd;
      attend_row(out + (int64_t)b * C + h * hd, att + ((int64_t)b * H + h) * n_keys, qkv + (int64_t)b * W + h * hd,
                 kcache + (int64_t)b * S * KVC + kv, vcache + (int64_t)b * S * KVC + kv, KVC, mask + (int64_t)b * S,
                 window_start(n_keys - 1, window), n_keys, hd, scale);
    }
}

}  // namespace cpu
}  // namespace inq
