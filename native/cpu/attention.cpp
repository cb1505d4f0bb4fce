// Causal multi-head (or grouped-query) self-attention with a key padding mask and an optional sliding window, its
// input backward, and the one-query decode step that reads the KV cache. The forward and the decode step share
// attend_row so a cached step reproduces the full forward bit for bit.
#include <cmath>
#include <cstring>

#include "attention_common.h"
#include "cpu.h"
#include "../src/common.h"

namespace inq {
namespace cpu {

namespace {

using namespace attn;

// out[k] = dot8(a, b + k*stride, n) for k < 4: the same eight lane sums per pair as dot8, four keys at once so their
// chains overlap and a is loaded once.
static inline __attribute__((always_inline)) void dot4(float* out, const float* __restrict a, const float* __restrict b,
                                                       int64_t stride, int n) {
  typedef Lanes<v8>::U U;
  v8 acc[4] = {v8{}, v8{}, v8{}, v8{}};
  int d = 0;
  for (; d + 8 <= n; d += 8) {
    const v8 x = *(const U*)(a + d);
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) acc[k] += x * *(const U*)(b + k * stride + d);
  }
  for (int k = 0; k < 4; ++k) {
    float l[8];
    *(U*)l = acc[k];
    for (int e = d; e < n; ++e) l[e & 7] += a[e] * b[k * stride + e];
    out[k] = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
  }
}

// dk += sum over the n queries from q, ascending, of ds[i][j] * q_i and dv += p[i][j] * dout_i (NV*L columns; p and
// ds point at column j of the first query's row, rows p_stride and ds_stride apart).
template <typename V, int NV>
static inline __attribute__((always_inline)) void dkv_cols(float* __restrict dk, float* __restrict dv,
                                                           const float* __restrict q, const float* __restrict go,
                                                           const float* __restrict p, const float* __restrict ds,
                                                           const bool* live, int n, int64_t p_stride, int ds_stride,
                                                           int64_t q_stride, int go_stride) {
  typedef typename Lanes<V>::U U;
  constexpr int L = Lanes<V>::W;
  V ak[NV], av[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    ak[v] = *(const U*)(dk + v * L);
    av[v] = *(const U*)(dv + v * L);
  }
  for (int ii = 0; ii < n; ++ii) {
    const float pij = p[ii * p_stride];
    if (pij == 0.0f || !live[ii]) continue;
    const float dsij = ds[(int64_t)ii * ds_stride];
    const float* qi = q + ii * q_stride;
    const float* gi = go + (int64_t)ii * go_stride;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      ak[v] += dsij * *(const U*)(qi + v * L);
      av[v] += pij * *(const U*)(gi + v * L);
    }
  }
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    *(U*)(dk + v * L) = ak[v];
    *(U*)(dv + v * L) = av[v];
  }
}

// One (cotangent row, key/value head) of attention_backward: g is the row's dqkv rows, T of them (keys and queries
// 0..T-1, key j seen by query i >= j only). Query heads of the group in ascending order; dq, dk and dv accumulate NV
// vectors of columns at a time in registers, and each element still gets one multiply-add per kept term in the old
// loops' order (dq over keys, dk and dv over heads then queries, ascending), whatever NV and the ISA.
template <typename V, int NV>
static inline __attribute__((always_inline)) void attn_bwd_item(
    float* __restrict g, float* __restrict dsbuf, int ib_max, const float* __restrict dout_r,
    const float* __restrict saved, const float* __restrict att_b, int T, int Ts, int C, int hd, int gk, int group,
    int64_t W, int64_t KVC, float scale) {
  constexpr int L = Lanes<V>::W;
  const int64_t ko = C + (int64_t)gk * hd, vo = C + KVC + (int64_t)gk * hd;
  float* const gkb = g + ko;
  float* const gvb = g + vo;
  const float* const kb = saved + ko;
  const float* const vb = saved + vo;
  for (int t = 0; t < T; ++t) {
    std::memset(gkb + t * W, 0, sizeof(float) * hd);
    std::memset(gvb + t * W, 0, sizeof(float) * hd);
  }
  bool live[64];
  for (int h = gk * group; h < (gk + 1) * group; ++h) {
    const float* pb = att_b + (int64_t)h * Ts * Ts;
    const float* qb = saved + h * hd;
    const float* gob = dout_r + h * hd;
    float* gq = g + h * hd;
    for (int i0 = 0; i0 < T; i0 += ib_max) {
      const int ib = T - i0 < ib_max ? T - i0 : ib_max;
      int n_live = 0;
      // Pass 1, per query: dS row = P * (dP - sum(P * dP)) * scale and dq = dS K, over keys 0..i.
      for (int ii = 0; ii < ib; ++ii) {
        const int i = i0 + ii, n = i + 1;
        const float* p = pb + (int64_t)i * Ts;
        const float* go = gob + (int64_t)i * C;
        float* dq = gq + i * W;
        float* ds = dsbuf + (int64_t)ii * T;
        bool any = false;
        for (int d = 0; d < hd; ++d) any |= go[d] != 0.0f;
        live[ii] = any;
        if (!any) {  // a zero cotangent row (past the cotangent's position in the top layer): every term is zero
          for (int d = 0; d < hd; ++d) dq[d] = 0.0f;
          continue;
        }
        ++n_live;
        int j = 0;
        for (; j + 4 <= n; j += 4)
          if (p[j] != 0.0f || p[j + 1] != 0.0f || p[j + 2] != 0.0f || p[j + 3] != 0.0f)
            dot4(ds + j, go, vb + j * W, W, hd);
        for (; j < n; ++j)
          if (p[j] != 0.0f) ds[j] = dot8(go, vb + j * W, hd);
        float s = 0.0f;
        for (j = 0; j < n; ++j)
          if (p[j] != 0.0f) s += p[j] * ds[j];  // masked (or underflowed): contributes exactly nothing
        for (j = 0; j < n; ++j) ds[j] = p[j] == 0.0f ? 0.0f : p[j] * (ds[j] - s) * scale;
        int d0 = 0;
        for (; d0 + NV * L <= hd; d0 += NV * L) dq_cols<V, NV>(dq + d0, kb + d0, p, ds, n, W);
        for (; d0 + L <= hd; d0 += L) dq_cols<V, 1>(dq + d0, kb + d0, p, ds, n, W);
        for (; d0 < hd; ++d0) {
          float acc = 0.0f;
          for (j = 0; j < n; ++j)
            if (p[j] != 0.0f) acc += ds[j] * kb[j * W + d0];
          dq[d0] = acc;
        }
      }
      if (!n_live) continue;
      // Pass 2, per key j < i0 + ib: dk += dS^T Q and dv += P^T dO over the block's queries i >= j, ascending.
      for (int j = 0; j < i0 + ib; ++j) {
        const int f = j > i0 ? j - i0 : 0;  // first query of the block that sees key j
        const int i = i0 + f;
        float* dk = gkb + j * W;
        float* dv = gvb + j * W;
        const float* q0 = qb + i * W;
        const float* go0 = gob + (int64_t)i * C;
        const float* p0 = pb + (int64_t)i * Ts + j;
        const float* ds0 = dsbuf + (int64_t)f * T + j;
        int d0 = 0;
        for (; d0 + NV * L <= hd; d0 += NV * L)
          dkv_cols<V, NV>(dk + d0, dv + d0, q0 + d0, go0 + d0, p0, ds0, live + f, ib - f, Ts, T, W, C);
        for (; d0 + L <= hd; d0 += L)
          dkv_cols<V, 1>(dk + d0, dv + d0, q0 + d0, go0 + d0, p0, ds0, live + f, ib - f, Ts, T, W, C);
        for (; d0 < hd; ++d0)
          for (int ii = f; ii < ib; ++ii) {
            const float pij = p0[(int64_t)(ii - f) * Ts];
            if (pij == 0.0f || !live[ii]) continue;
            dk[d0] += ds0[(int64_t)(ii - f) * T] * q0[(ii - f) * W + d0];
            dv[d0] += pij * go0[(int64_t)(ii - f) * C + d0];
          }
      }
    }
  }
}

typedef void (*ItemFn)(float*, float*, int, const float*, const float*, const float*, int, int, int, int, int, int,
                       int64_t, int64_t, float);

#define INQ_ATTN_ITEM(name, attr, V, NV)                                                                            \
  attr void name(float* g, float* dsbuf, int ib_max, const float* dout_r, const float* saved, const float* att_b,   \
                 int T, int Ts, int C, int hd, int gk, int group, int64_t W, int64_t KVC, float scale) {            \
    attn_bwd_item<V, NV>(g, dsbuf, ib_max, dout_r, saved, att_b, T, Ts, C, hd, gk, group, W, KVC, scale);            \
  }
INQ_ATTN_ITEM(item_avx512, __attribute__((target("avx512f,fma"))), v16, 4)
INQ_ATTN_ITEM(item_avx2, __attribute__((target("avx2,fma"))), v8, 4)
INQ_ATTN_ITEM(item_generic, , v4, 4)
#undef INQ_ATTN_ITEM

// The same ISA as the GEMM (matmul_kernel_name honours INSEQ_NATIVE_GEMM), so one switch caps both.
ItemFn item_fn() {
  static const ItemFn fn = [] {
    const char* k = matmul_kernel_name();
    if (!std::strcmp(k, "avx512")) return item_avx512;
    if (!std::strcmp(k, "avx2")) return item_avx2;
    return item_generic;
  }();
  return fn;
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
    const float s = dot8(q, k + j * stride, hd) * scale;
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
  const ItemFn fn = item_fn();
#pragma omp parallel for collapse(2) schedule(dynamic, 1) num_threads(num_threads())
  for (int r = 0; r < map.R; ++r)
    for (int gk = 0; gk < KVH; ++gk) {
      alignas(64) float ds_local[kDsFloats];
      const int b = r / map.n_cot, T = map.len(r);
      if (T == 0) continue;  // an empty cotangent has no rows to write
      const int ib_max = T <= kDsFloats ? (kDsFloats / T < 64 ? kDsFloats / T : 64) : 1;
      float* dsbuf = T <= kDsFloats ? ds_local : scratch + ((int64_t)r * H + gk * group) * Ts;
      fn(dqkv + (int64_t)map.start[r] * W, dsbuf, ib_max, dout + (int64_t)map.start[r] * C, qkv + (int64_t)b * Ts * W,
         att + (int64_t)b * H * Ts * Ts, T, Ts, C, hd, gk, group, W, KVC, scale);
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
