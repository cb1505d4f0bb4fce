// Blocked, packed GEMM for matmul_forward / matmul_backward_input (and inq_bench_gemm).
//
// C[N,M] = A[N,K] . op(B) (+ bias). Goto-style: the output is cut into tiles of NC columns by whole MC-row blocks,
// OpenMP hands whole tiles to threads, and each tile walks K in KC blocks in a fixed order: every output element is the same sequence of
// multiply-adds whatever the thread count, tile position or N, so results are bitwise deterministic and a row's
// result does not depend on the other rows in the call (no split-K).
//
// The micro-kernel is written once with GCC vector extensions and compiled for three ISAs; the widest one the CPU
// supports is picked at run time, so the default build stays portable (no -march) yet uses AVX2/AVX-512 when present.
#include <cstdlib>
#include <cstring>

#include "cpu.h"
#include "../src/common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace inq {
namespace cpu {

namespace {

#ifndef INQ_GEMM_MC
#define INQ_GEMM_MC 192
#define INQ_GEMM_KC 192
#define INQ_GEMM_NC 512
#endif
constexpr int MC = INQ_GEMM_MC;  // rows of A per packed block (multiple of every MR)
constexpr int KC = INQ_GEMM_KC;  // depth of a packed block
constexpr int NC = INQ_GEMM_NC;  // columns of B per packed panel (multiple of every NR)
constexpr int MAX_MR = 12, MAX_NR = 32;

typedef float v4 __attribute__((vector_size(16)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v16 __attribute__((vector_size(64)));

// acc[MR x NR] = sum_k a[k*MR + i] * b[k*NR + j]; then c = acc (+ bias) when !accumulate, else c += acc.
template <int MR, int NV, typename V>
static inline __attribute__((always_inline)) void kernel_body(int kc, const float* __restrict a,
                                                              const float* __restrict b, float* __restrict c,
                                                              int64_t ldc, const float* bias, int accumulate) {
  constexpr int VW = sizeof(V) / sizeof(float);
  constexpr int NR = NV * VW;
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = V{};
  for (int k = 0; k < kc; ++k) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = *(const V*)(b + (int64_t)k * NR + v * VW);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const float ai = a[(int64_t)k * MR + i];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] += ai * bv[v];
    }
  }
  typedef float VU __attribute__((vector_size(sizeof(V)), aligned(4)));
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      VU* dst = (VU*)(c + i * ldc + v * VW);
      if (accumulate)
        *dst += acc[i][v];
      else if (bias)
        *dst = acc[i][v] + *(const VU*)(bias + v * VW);
      else
        *dst = acc[i][v];
    }
}

// One row of the same product (a[k * astride]): for edge slivers with fewer than MR valid rows (decode steps have
// one). Each element sees exactly the multiply-add sequence of kernel_body, so results do not depend on which of
// the two computed them.
template <int NV, typename V>
static inline __attribute__((always_inline)) void row_body(int kc, const float* __restrict a, int astride,
                                                           const float* __restrict b, float* __restrict c,
                                                           const float* bias, int accumulate) {
  constexpr int VW = sizeof(V) / sizeof(float);
  constexpr int NR = NV * VW;
  V acc[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) acc[v] = V{};
  for (int k = 0; k < kc; ++k) {
    const float ak = a[(int64_t)k * astride];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[v] += ak * *(const V*)(b + (int64_t)k * NR + v * VW);
  }
  typedef float VU __attribute__((vector_size(sizeof(V)), aligned(4)));
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    VU* dst = (VU*)(c + v * VW);
    if (accumulate)
      *dst += acc[v];
    else if (bias)
      *dst = acc[v] + *(const VU*)(bias + v * VW);
    else
      *dst = acc[v];
  }
}

typedef void (*KernelFn)(int, const float*, const float*, float*, int64_t, const float*, int);
typedef void (*RowFn)(int, const float*, int, const float*, float*, const float*, int);

__attribute__((target("avx512f,fma"))) void kernel_avx512(int kc, const float* a, const float* b, float* c,
                                                          int64_t ldc, const float* bias, int accumulate) {
  kernel_body<12, 2, v16>(kc, a, b, c, ldc, bias, accumulate);
}
__attribute__((target("avx2,fma"))) void kernel_avx2(int kc, const float* a, const float* b, float* c, int64_t ldc,
                                                     const float* bias, int accumulate) {
  kernel_body<6, 2, v8>(kc, a, b, c, ldc, bias, accumulate);
}
__attribute__((target("avx512f,fma"))) void row_avx512(int kc, const float* a, int astride, const float* b, float* c,
                                                       const float* bias, int accumulate) {
  row_body<2, v16>(kc, a, astride, b, c, bias, accumulate);
}
__attribute__((target("avx2,fma"))) void row_avx2(int kc, const float* a, int astride, const float* b, float* c,
                                                  const float* bias, int accumulate) {
  row_body<2, v8>(kc, a, astride, b, c, bias, accumulate);
}
void row_generic(int kc, const float* a, int astride, const float* b, float* c, const float* bias, int accumulate) {
  row_body<2, v4>(kc, a, astride, b, c, bias, accumulate);
}
void kernel_generic(int kc, const float* a, const float* b, float* c, int64_t ldc, const float* bias,
                    int accumulate) {
  kernel_body<4, 2, v4>(kc, a, b, c, ldc, bias, accumulate);
}

struct Kernel {
  const char* name;
  int mr, nr;
  KernelFn fn;
  RowFn row;
};

// INSEQ_NATIVE_GEMM=generic|avx2|avx512 caps the choice (for measurements); read once.
const Kernel& kernel() {
  static const Kernel k = [] {
    const char* cap = std::getenv("INSEQ_NATIVE_GEMM");
    const bool allow512 = !cap || !std::strcmp(cap, "avx512");
    const bool allow2 = allow512 || !std::strcmp(cap, "avx2");
    __builtin_cpu_init();
    if (allow512 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"))
      return Kernel{"avx512", 12, 32, kernel_avx512, row_avx512};
    if (allow2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      return Kernel{"avx2", 6, 16, kernel_avx2, row_avx2};
    return Kernel{"generic", 4, 8, kernel_generic, row_generic};
  }();
  return k;
}

// Packs rows i0..i0+mc of A[:, p0..p0+kc] into MR-row slivers (k-major inside a sliver), zero-padding missing rows.
void pack_a(float* dst, const float* A, int64_t lda, int N, int i0, int mc, int p0, int kc, int mr) {
  // k outer, rows inner: MR concurrent read streams and contiguous writes (one row at a time stalls on misses).
  const float* rows[MAX_MR];
  for (int s = 0; s < mc; s += mr) {
    float* d = dst + (int64_t)s * kc;
    int valid = 0;
    for (int i = 0; i < mr; ++i)
      if (i0 + s + i < N) rows[valid++] = A + (i0 + s + i) * lda + p0;
    if (valid == mr) {
      for (int k = 0; k < kc; ++k)
        for (int i = 0; i < mr; ++i) d[k * mr + i] = rows[i][k];
    } else {
      for (int k = 0; k < kc; ++k)
        for (int i = 0; i < mr; ++i) d[k * mr + i] = i < valid ? rows[i][k] : 0.0f;
    }
  }
}

// Packs op(B)[p0..p0+kc, j0..j0+nc] into NR-column slivers. transB = 0: op(B)[k,j] = B[k*ldb + j];
// transB = 1: op(B)[k,j] = B[j*ldb + k]. Missing columns are zero.
void pack_b(float* dst, const float* B, int64_t ldb, int transB, int M, int j0, int nc, int p0, int kc, int nr) {
  for (int s = 0; s < nc; s += nr) {
    float* d = dst + (int64_t)s * kc;
    const int cols = M - (j0 + s) < nr ? M - (j0 + s) : nr;
    if (!transB) {
      for (int k = 0; k < kc; ++k) {
        const float* src = B + (p0 + k) * ldb + j0 + s;
        int j = 0;
        for (; j < cols; ++j) d[k * nr + j] = src[j];
        for (; j < nr; ++j) d[k * nr + j] = 0.0f;
      }
    } else {
      // k outer, columns inner: NR concurrent read streams (rows of B) and contiguous writes.
      const float* cols_src[MAX_NR];
      for (int j = 0; j < cols; ++j) cols_src[j] = B + (j0 + s + j) * ldb + p0;
      if (cols == nr) {
        for (int k = 0; k < kc; ++k)
          for (int j = 0; j < nr; ++j) d[k * nr + j] = cols_src[j][k];
      } else {
        for (int k = 0; k < kc; ++k)
          for (int j = 0; j < nr; ++j) d[k * nr + j] = j < cols ? cols_src[j][k] : 0.0f;
      }
    }
  }
}

void gemm(float* C, const float* A, const float* B, int transB, const float* bias, int N, int K, int M,
          const Workspace& ws) {
  const Kernel& kr = kernel();
  int threads = num_threads();
  if (threads > ws.slots) threads = ws.slots;
  // A tile is NC columns by a run of MC-row blocks: its B panel is packed once per K block and reused by every row
  // block. Tiles are as tall as the thread count allows (about two tiles per thread); the shape only decides who
  // computes what, never how, so it may depend on the thread count.
  const int tiles_m = (M + NC - 1) / NC, blocks_n = (N + MC - 1) / MC;
  int row_tiles = (2 * threads + tiles_m - 1) / tiles_m;
  if (row_tiles > blocks_n) row_tiles = blocks_n;
  if (row_tiles < 1) row_tiles = 1;
  const int rows_per_tile = (blocks_n + row_tiles - 1) / row_tiles * MC;
  row_tiles = (N + rows_per_tile - 1) / rows_per_tile;
  const int tiles = row_tiles * tiles_m;
  if (threads > tiles) threads = tiles;
  const int64_t lda = K, ldb = transB ? K : M;
#pragma omp parallel num_threads(threads)
  {
    int tid = 0;
#ifdef _OPENMP
    tid = omp_get_thread_num();
#endif
    float* pa = ws.data + (size_t)tid * ws.floats_per_slot;
    float* pb = pa + (size_t)MC * KC;
    alignas(64) float edge[MAX_MR * MAX_NR];
#pragma omp for schedule(dynamic, 1)
    for (int t = 0; t < tiles; ++t) {
      const int r0 = (t / tiles_m) * rows_per_tile, j0 = (t % tiles_m) * NC;
      const int r1 = N < r0 + rows_per_tile ? N : r0 + rows_per_tile;
      const int nc = M - j0 < NC ? M - j0 : NC;
      const int nc_pad = (nc + kr.nr - 1) / kr.nr * kr.nr;
      for (int p0 = 0; p0 < K; p0 += KC) {
        const int kc = K - p0 < KC ? K - p0 : KC;
        const int accumulate = p0 > 0;
        pack_b(pb, B, ldb, transB, M, j0, nc_pad, p0, kc, kr.nr);
        for (int i0 = r0; i0 < r1; i0 += MC) {
          const int mc = r1 - i0 < MC ? r1 - i0 : MC;
          const int mc_pad = (mc + kr.mr - 1) / kr.mr * kr.mr;
          pack_a(pa, A, lda, N, i0, mc_pad, p0, kc, kr.mr);
          for (int jr = 0; jr < nc_pad; jr += kr.nr) {
            const float* bsl = pb + (int64_t)jr * kc;
            const float* bias_j = bias ? bias + j0 + jr : nullptr;
            const int cols = nc - jr < kr.nr ? nc - jr : kr.nr;
            for (int ir = 0; ir < mc_pad; ir += kr.mr) {
              const float* asl = pa + (int64_t)ir * kc;
              const int rows = mc - ir < kr.mr ? mc - ir : kr.mr;
              float* c = C + (int64_t)(i0 + ir) * M + j0 + jr;
              if (rows == kr.mr && cols == kr.nr) {
                kr.fn(kc, asl, bsl, c, M, bias_j, accumulate);
              } else if (cols == kr.nr) {
                for (int i = 0; i < rows; ++i) kr.row(kc, asl + i, kr.mr, bsl, c + i * (int64_t)M, bias_j, accumulate);
              } else {
                // Edge tile: same kernel into a scratch tile, then the valid part is copied out.
                float bias_pad[MAX_NR] = {0};
                if (bias_j)
                  for (int j = 0; j < cols; ++j) bias_pad[j] = bias_j[j];
                for (int i = 0; i < rows; ++i)
                  for (int j = 0; j < cols; ++j) edge[i * kr.nr + j] = accumulate ? c[i * (int64_t)M + j] : 0.0f;
                kr.fn(kc, asl, bsl, edge, kr.nr, bias_j ? bias_pad : nullptr, accumulate);
                for (int i = 0; i < rows; ++i)
                  for (int j = 0; j < cols; ++j) c[i * (int64_t)M + j] = edge[i * kr.nr + j];
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace

size_t matmul_workspace_floats() { return (size_t)MC * KC + (size_t)KC * NC; }

const char* matmul_kernel_name() { return kernel().name; }

void matmul_forward(float* out, const float* x, const float* w, const float* bias, int N, int K, int M, int transB,
                    const Workspace& ws) {
  gemm(out, x, w, transB, bias, N, K, M, ws);
}

// dx = dy . W^T: W [K,M] read as [M,K]-transposed, W [M,K] read as plain [M,K].
void matmul_backward_input(float* dx, const float* dy, const float* w, int N, int K, int M, int transB,
                           const Workspace& ws) {
  gemm(dx, dy, w, transB ? 0 : 1, nullptr, N, M, K, ws);
}

}  // namespace cpu
}  // namespace inq
