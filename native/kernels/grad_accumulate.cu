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

}  // namespace

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
