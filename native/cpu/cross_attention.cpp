// Attention over separate query and key/value rows: bidirectional encoder self-attention (causal = 0), decoder
// cross-attention (queries from the decoder, keys/values from the encoder output) and, with causal = 1, a causal
// self-attention over the same layout. Key padding mask [B,Tk]; kept probabilities [B,H,Tq,Tk]; input backward to
// the queries and to the keys/values. An optional [H,Tq,Tk] bias (T5's relative positions) joins the scaled scores.
#include <cmath>
#include <cstring>

#include "attention_common.h"
#include "cpu.h"
#include "../src/common.h"

namespace inq {
namespace cpu {

namespace {

using namespace attn;

// dk += sum over the block's live queries i, ascending, of ds[i][j] * q_i and dv += p[i][j] * dout_i (NV*L columns;
// p and ds point at column j of the block's first row, rows Tk apart).
template <typename V, int NV>
static inline __attribute__((always_inline)) void dkv_cols(float* __restrict dk, float* __restrict dv,
                                                           const float* __restrict q, const float* __restrict go,
                                                           const float* __restrict p, const float* __restrict ds,
                                                           const bool* live, int ib, int Tk, int C, int64_t q_stride) {
  typedef typename Lanes<V>::U U;
  constexpr int L = Lanes<V>::W;
  V ak[NV], av[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    ak[v] = *(const U*)(dk + v * L);
    av[v] = *(const U*)(dv + v * L);
  }
  for (int ii = 0; ii < ib; ++ii) {
    const float pij = p[(int64_t)ii * Tk];
    if (pij == 0.0f || !live[ii]) continue;
    const float dsij = ds[(int64_t)ii * Tk];
    const float* qi = q + ii * q_stride;
    const float* gi = go + (int64_t)ii * C;
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

// One (cotangent row, head) of cross_attention_backward. dq, dk and dv accumulate NV vectors of columns at a time in
// registers; each element still gets one multiply-add per kept term, in ascending order, whatever NV and the ISA.
template <typename V, int NV>
static inline __attribute__((always_inline)) void xattn_bwd_head(
    float* __restrict g_q, float* __restrict gk, float* __restrict gv, float* __restrict dsbuf, int ib_max,
    const float* __restrict dout_r, const float* __restrict qb, const float* __restrict kb,
    const float* __restrict vb, const float* __restrict pb, int Tq, int Tk, int C, int hd, int64_t q_stride,
    int64_t kv_stride, float scale) {
  constexpr int L = Lanes<V>::W;
  for (int j = 0; j < Tk; ++j) {
    std::memset(gk + j * kv_stride, 0, sizeof(float) * hd);
    std::memset(gv + j * kv_stride, 0, sizeof(float) * hd);
  }
  bool live[64];
  for (int i0 = 0; i0 < Tq; i0 += ib_max) {
    const int ib = Tq - i0 < ib_max ? Tq - i0 : ib_max;
    int n_live = 0;
    // Pass 1, per query: dS row = P * (dP - sum(P * dP)) * scale and dq = dS K.
    for (int ii = 0; ii < ib; ++ii) {
      const int i = i0 + ii;
      const float* p = pb + (int64_t)i * Tk;
      const float* go = dout_r + (int64_t)i * C;
      float* g = g_q + (int64_t)i * q_stride;
      float* ds = dsbuf + (int64_t)ii * Tk;
      bool any = false;
      for (int d = 0; d < hd; ++d) any |= go[d] != 0.0f;
      live[ii] = any;
      if (!any) {  // a zero cotangent row (positions past a packed cotangent's): every term is zero
        for (int d = 0; d < hd; ++d) g[d] = 0.0f;
        continue;
      }
      ++n_live;
      float s = 0.0f;
      for (int j = 0; j < Tk; ++j) {
        if (p[j] == 0.0f) continue;  // masked (or underflowed): contributes exactly nothing
        ds[j] = dot8(go, vb + j * kv_stride, hd);
        s += p[j] * ds[j];
      }
      for (int j = 0; j < Tk; ++j) ds[j] = p[j] == 0.0f ? 0.0f : p[j] * (ds[j] - s) * scale;
      int d0 = 0;
      for (; d0 + NV * L <= hd; d0 += NV * L) dq_cols<V, NV>(g + d0, kb + d0, p, ds, Tk, kv_stride);
      for (; d0 + L <= hd; d0 += L) dq_cols<V, 1>(g + d0, kb + d0, p, ds, Tk, kv_stride);
      for (; d0 < hd; ++d0) {
        float acc = 0.0f;
        for (int j = 0; j < Tk; ++j)
          if (p[j] != 0.0f) acc += ds[j] * kb[j * kv_stride + d0];
        g[d0] = acc;
      }
    }
    if (!n_live) continue;
    const float* q0 = qb + i0 * q_stride;
    const float* go0 = dout_r + (int64_t)i0 * C;
    // Pass 2, per key: dk += dS^T Q and dv += P^T dO over the block's queries, ascending.
    for (int j = 0; j < Tk; ++j) {
      float* dk = gk + j * kv_stride;
      float* dv = gv + j * kv_stride;
      const float* p0 = pb + (int64_t)i0 * Tk + j;
      int d0 = 0;
      for (; d0 + NV * L <= hd; d0 += NV * L)
        dkv_cols<V, NV>(dk + d0, dv + d0, q0 + d0, go0 + d0, p0, dsbuf + j, live, ib, Tk, C, q_stride);
      for (; d0 + L <= hd; d0 += L)
        dkv_cols<V, 1>(dk + d0, dv + d0, q0 + d0, go0 + d0, p0, dsbuf + j, live, ib, Tk, C, q_stride);
      for (; d0 < hd; ++d0)
        for (int ii = 0; ii < ib; ++ii) {
          const int i = i0 + ii;
          const float pij = pb[(int64_t)i * Tk + j];
          if (pij == 0.0f || !live[ii]) continue;
          dk[d0] += dsbuf[(int64_t)ii * Tk + j] * qb[(int64_t)i * q_stride + d0];
          dv[d0] += pij * dout_r[(int64_t)i * C + d0];
        }
    }
  }
}

typedef void (*HeadFn)(float*, float*, float*, float*, int, const float*, const float*, const float*, const float*,
                       const float*, int, int, int, int, int64_t, int64_t, float);

#define INQ_XATTN_HEAD(name, attr, V, NV)                                                                            \
  attr void name(float* g_q, float* gk, float* gv, float* dsbuf, int ib_max, const float* dout_r, const float* qb,   \
                 const float* kb, const float* vb, const float* pb, int Tq, int Tk, int C, int hd, int64_t q_stride, \
                 int64_t kv_stride, float scale) {                                                                   \
    xattn_bwd_head<V, NV>(g_q, gk, gv, dsbuf, ib_max, dout_r, qb, kb, vb, pb, Tq, Tk, C, hd, q_stride, kv_stride,   \
                          scale);                                                                                    \
  }
INQ_XATTN_HEAD(head_avx512, __attribute__((target("avx512f,fma"))), v16, 4)
INQ_XATTN_HEAD(head_avx2, __attribute__((target("avx2,fma"))), v8, 4)
INQ_XATTN_HEAD(head_generic, , v4, 4)
#undef INQ_XATTN_HEAD

// The same ISA as the GEMM (matmul_kernel_name honours INSEQ_NATIVE_GEMM), so one switch caps both.
HeadFn head_fn() {
  static const HeadFn fn = [] {
    const char* k = matmul_kernel_name();
    if (!std::strcmp(k, "avx512")) return head_avx512;
    if (!std::strcmp(k, "avx2")) return head_avx2;
    return head_generic;
  }();
  return fn;
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
// element and the sums run in a fixed order (dq over keys, dk and dv over queries, ascending).
void cross_attention_backward(float* dq, float* dkv, float* scratch, const float* dout, const float* q,
                              const float* kv, const float* att, int R, int n_cot, int Tq, int Tk, int C, int H,
                              int64_t q_stride, int64_t kv_stride, float scale) {
  const int hd = C / H;
  const HeadFn fn = head_fn();
  const int ib_max = Tk <= kDsFloats ? (kDsFloats / Tk < 64 ? kDsFloats / Tk : 64) : 1;
#pragma omp parallel for collapse(2) schedule(dynamic, 1) num_threads(num_threads())
  for (int r = 0; r < R; ++r)
    for (int h = 0; h < H; ++h) {
      alignas(64) float ds_local[kDsFloats];
      const int b = r / n_cot;
      const float* kb = kv + (int64_t)b * Tk * kv_stride + h * hd;
      float* gk = dkv + (int64_t)r * Tk * kv_stride + h * hd;
      float* dsbuf = Tk <= kDsFloats ? ds_local : scratch + ((int64_t)r * H + h) * Tk;
      fn(dq + (int64_t)r * Tq * q_stride + h * hd, gk, gk + C, dsbuf, ib_max, dout + (int64_t)r * Tq * C + h * hd,
         q + (int64_t)b * Tq * q_stride + h * hd, kb, kb + C, att + ((int64_t)b * H + h) * Tq * Tk, Tq, Tk, C, hd,
         q_stride, kv_stride, scale);
    }
}

}  // namespace cpu
}  // namespace inq
