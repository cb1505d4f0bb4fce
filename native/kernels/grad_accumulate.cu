#include "grad_accumulate.cuh"

namespace inq {
namespace cuda {

namespace {

// One thread per (row t, column i, h) element of the cells the call reaches: it reads the cell once, adds the B
// forward rows' contributions in ascending b (the CPU's and the managed sink's order; no atomics) and writes it back.
// __fmul_rn / __fadd_rn round every operation and are never contracted into an FMA, as the CPU twin is compiled
// (-ffp-contract=off), so both backends add the same rounded terms.
__global__ void grad_accumulate_kernel(float* acc, const float* grads, const float* weights, const float* mul,
                                       const int32_t* steps, const int32_t* start, int B, int n_cot, int row_off,
                                       int span, int T_acc, int K, int C) {
  const int64_t n = (int64_t)span * n_cot * C;
  INQ_GRID_STRIDE(e, n) {
    const int h = (int)(e % C);
    const int64_t cell = e / C;
    const int i = (int)(cell % n_cot), t = (int)(cell / n_cot);
    float* dst = acc + ((int64_t)(row_off + t) * K + steps[i]) * C + h;
    float a = *dst;
    bool touched = false;
    for (int b = 0; b < B; ++b) {
      const int r = b * n_cot + i;
      const int s0 = start[r];
      if (t >= start[r + 1] - s0) continue;
      float v = __fmul_rn(weights[b], grads[(int64_t)(s0 + t) * C + h]);
      if (mul) v = __fmul_rn(v, mul[((int64_t)b * T_acc + row_off + t) * C + h]);
      a = __fadd_rn(a, v);
      touched = true;
    }
    if (touched) *dst = a;
  }
}

// One thread per (t, k) cell, its hidden units in ascending order with every operation rounded (__fmul_rn, __dmul_rn,
// __dadd_rn: never contracted), as the CPU twin: the same bits on both backends. T x K threads of C loads each; the
// cell's reads are contiguous per thread (not coalesced across threads), fine for one reduction per sequence.
__global__ void grad_reduce_kernel(float* l2, float* sum, const float* acc, const float* mul, int T, int K, int C) {
  const int64_t cells = (int64_t)T * K;
  INQ_GRID_STRIDE(cell, cells) {
    const float* a = acc + cell * C;
    const float* m = mul ? mul + (cell / K) * C : nullptr;
    double sq = 0, s = 0;
    for (int h = 0; h < C; ++h) {
      const float v = m ? __fmul_rn(a[h], m[h]) : a[h];
      sq = __dadd_rn(sq, __dmul_rn((double)v, (double)v));
      s = __dadd_rn(s, (double)v);
    }
    l2[cell] = (float)sqrt(sq);
    if (sum) sum[cell] = (float)s;
  }
}

}  // namespace

void grad_reduce(float* l2, float* sum, const float* acc, const float* mul, int T, int K, int C, cudaStream_t stream) {
  const int64_t cells = (int64_t)T * K;
  if (cells <= 0) return;
  grad_reduce_kernel<<<grid_for(cells), kBlock, 0, stream>>>(l2, sum, acc, mul, T, K, C);
  CUDA_CHECK_LAUNCH();
}

void grad_accumulate(float* acc, const float* grads, const float* weights, const float* mul, const int32_t* steps,
                     RowMap map, int row_off, int T_acc, int K, int C, cudaStream_t stream) {
  const int span = T_acc - row_off, B = map.R / map.n_cot;
  const int64_t n = (int64_t)span * map.n_cot * C;
  if (n <= 0 || B <= 0) return;
  grad_accumulate_kernel<<<grid_for(n), kBlock, 0, stream>>>(acc, grads, weights, mul, steps, map.start, B, map.n_cot,
                                                             row_off, span, T_acc, K, C);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace inq
