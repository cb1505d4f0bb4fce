#include <cmath>

#include "cpu.h"
#include "../src/common.h"

namespace inq {
namespace cpu {

// Statistics in double: the row order of summation is fixed, so results are deterministic, and the fp32 output
// is then as close to PyTorch's (Welford in float) as fp32 allows.
void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b, int N,
                       int C, float eps) {
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int n = 0; n < N; ++n) {
    const float* xr = x + (int64_t)n * C;
    double s = 0.0;
    for (int c = 0; c < C; ++c) s += xr[c];
    const double m = s / C;
    double v = 0.0;
    for (int c = 0; c < C; ++c) {
      const double d = xr[c] - m;
      v += d * d;
    }
    v /= C;
    const float mf = (float)m;
    const float rs = (float)(1.0 / std::sqrt(v + (double)eps));
    float* o = out + (int64_t)n * C;
    for (int c = 0; c < C; ++c) o[c] = (xr[c] - mf) * rs * w[c] + b[c];
    mean[n] = mf;
    rstd[n] = rs;
  }
}

void layernorm_backward(float* dx, const float* dy, const float* x, const float* w, const float* mean,
                        const float* rstd, RowMap map, int C) {
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t n = 0; n < map.rows; ++n) {
    const int64_t s = map.saved_row(n);
    const float* xr = x + s * C;
    const float* g = dy + n * C;
    const float m = mean[s], rs = rstd[s];
    double sum_g = 0.0, sum_gx = 0.0;
    for (int c = 0; c < C; ++c) {
      const float gn = g[c] * w[c];
      const float xh = (xr[c] - m) * rs;
      sum_g += gn;
      sum_gx += (double)gn * xh;
    }
    const float mg = (float)(sum_g / C), mgx = (float)(sum_gx / C);
    float* o = dx + n * C;
    for (int c = 0; c < C; ++c) {
      const float xh = (xr[c] - m) * rs;
      o[c] = rs * (g[c] * w[c] - mg - xh * mgx);
    }
  }
}

}  // namespace cpu
}  // namespace inq
