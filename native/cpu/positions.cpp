// Sinusoidal position rows as Marian (and fairseq-style M2M100 with an offset) compute them: for d = C/2 (C even),
// row(pos)[j] = sin(pos / 10000^(2j/C)) and row(pos)[d + j] = cos(pos / 10000^(2j/C)), j < d (half sin | half cos,
// not interleaved); computed in double and rounded once, like Hugging Face's numpy float64 table.
// Odd C (Hugging Face: sin for the first ceil(C/2) columns) is handled the same way.
#include <cmath>

#include "cpu.h"
#include "../src/common.h"

namespace inq {
namespace cpu {

void sinusoidal_positions(float* out, const int32_t* pos, int N, int C) {
  const int half = (C + 1) / 2;  // sin columns (Hugging Face's "sentinel")
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int n = 0; n < N; ++n) {
    float* o = out + (int64_t)n * C;
    const double p = (double)pos[n];
    for (int c = 0; c < C; ++c) {
      // Column c of Hugging Face's position_enc uses exponent 2*(c/2)/C; sin takes the even columns, cos the odd.
      const int j = c < half ? 2 * c : 2 * (c - half) + 1;
      const double angle = p / std::pow(10000.0, 2.0 * (double)(j / 2) / (double)C);
      o[c] = (float)(c < half ? std::sin(angle) : std::cos(angle));
    }
  }
}

}  // namespace cpu
}  // namespace inq
