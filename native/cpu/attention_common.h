// What the CPU attention backwards (attention.cpp: causal / grouped-query; cross_attention.cpp: cross and
// bidirectional) share: the fixed-order dot product, GCC vector types, the query-block size of their stack dS rows, and
// the dq = dS K column kernel. Everything here is deterministic and independent of the thread count.
#pragma once

#include <cstdint>

namespace inq {
namespace cpu {
namespace attn {

// Dot product with 8 independent partial sums combined in a fixed order: vectorizable without -ffast-math and
// deterministic.
inline __attribute__((always_inline)) float dot8(const float* a, const float* b, int n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int d = 0;
  for (; d + 8 <= n; d += 8)
    for (int l = 0; l < 8; ++l) acc[l] += a[d + l] * b[d + l];
  for (; d < n; ++d) acc[d & 7] += a[d] * b[d];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

typedef float v4 __attribute__((vector_size(16)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v16 __attribute__((vector_size(64)));

// Query rows per block (at most 64): their dS rows (block x Tk floats) live on the stack, so dk and dv are read and
// written once per block instead of once per query. Keys beyond this many fall back to one row in the caller's scratch.
constexpr int kDsFloats = 4096;

// Lane count and unaligned load/store type of a GCC vector type.
template <typename V>
struct Lanes {
  static constexpr int W = sizeof(V) / sizeof(float);
  typedef float U __attribute__((vector_size(sizeof(V)), aligned(4)));
};

// g[0 .. NV*L) = sum over kept keys j, ascending, of ds[j] * k_j (the columns at k).
template <typename V, int NV>
inline __attribute__((always_inline)) void dq_cols(float* __restrict g, const float* __restrict k,
                                                          const float* __restrict p, const float* __restrict ds,
                                                          int Tk, int64_t kv_stride) {
  typedef typename Lanes<V>::U U;
  constexpr int L = Lanes<V>::W;
  V acc[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) acc[v] = V{};
  for (int j = 0; j < Tk; ++j) {
    if (p[j] == 0.0f) continue;
    const float dsj = ds[j];
    const float* kj = k + j * kv_stride;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[v] += dsj * *(const U*)(kj + v * L);
  }
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) *(U*)(g + v * L) = acc[v];
}

}  // namespace attn
}  // namespace cpu
}  // namespace inq
