// Granular gradient accumulation (DESIGN §5.6: aggregate where the data is). Compiled with -ffp-contract=off: each
// addition is `acc += w * g` (then `* m`) rounded step by step, exactly as the managed sink
// (GranularBuffer.Accumulate) computes it, so the device-accumulated result is bitwise the host loop's.
#include <cmath>

#include "cpu.h"
#include "../src/common.h"

namespace inq {
namespace cpu {

void grad_accumulate(float* acc, const float* grads, const float* weights, const float* mul, const int32_t* steps,
                     RowMap map, int row_off, int T_acc, int K, int C) {
  const int n_cot = map.n_cot, B = map.R / map.n_cot, span = T_acc - row_off;
  const int64_t cells = (int64_t)span * n_cot;
  // One (row, step) cell per iteration: its B contributions are added in ascending forward row, the order the host
  // loop uses; cells are independent, so threads split them.
#pragma omp parallel for schedule(static) num_threads(num_threads()) if (cells * C * B > 65536)
  for (int64_t cell = 0; cell < cells; ++cell) {
    const int t = (int)(cell / n_cot), i = (int)(cell % n_cot);
    float* dst = acc + ((int64_t)(row_off + t) * K + steps[i]) * C;
    for (int b = 0; b < B; ++b) {
      const int r = b * n_cot + i;
      if (t >= map.len(r)) continue;
      const float w = weights[b];
      const float* src = grads + (int64_t)(map.start[r] + t) * C;
      if (mul) {
        const float* m = mul + ((int64_t)b * T_acc + row_off + t) * C;
        for (int h = 0; h < C; ++h) dst[h] += w * src[h] * m[h];
      } else {
        for (int h = 0; h < C; ++h) dst[h] += w * src[h];
      }
    }
  }
}

// The default aggregation's first half where the accumulator is: for every cell, v = acc (* mul[row]) rounded to float
// per element, then l2 = sqrt(sum v*v) and sum = sum v accumulated in double over the hidden units in order — what
// the managed VectorNormFunction computes on the granular output (bitwise on this backend).
void grad_reduce(float* l2, float* sum, const float* acc, const float* mul, int T, int K, int C) {
  const int64_t cells = (int64_t)T * K;
#pragma omp parallel for schedule(static) num_threads(num_threads()) if (cells * C > 65536)
  for (int64_t cell = 0; cell < cells; ++cell) {
    const float* a = acc + cell * C;
    const float* m = mul ? mul + (cell / K) * C : nullptr;
    double sq = 0, s = 0;
    for (int h = 0; h < C; ++h) {
      const float v = m ? a[h] * m[h] : a[h];
      sq += (double)v * v;
      s += v;
    }
    l2[cell] = (float)std::sqrt(sq);
    if (sum) sum[cell] = (float)s;
  }
}

}  // namespace cpu
}  // namespace inq
