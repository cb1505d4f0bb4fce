// RMSNorm (Llama, Mistral, Qwen2, T5's layer norm): y = w * (x * rstd), rstd = 1 / sqrt(mean(x^2) + eps).
#include <cmath>

#include "cpu.h"
#include "../src/common.h"

namespace inq {
namespace cpu {

// The mean square in double, in a fixed order: deterministic and as close to PyTorch's fp32 result as fp32 allows.
void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int N, int C, float eps) {
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int n = 0; n < N; ++n) {
    const float* xr = x + (int64_t)n * C;
    double ss = 0.0;
    for (int c = 0; c < C; ++c) ss += (double)xr[c] * xr[c];
    const float rs = (float)(1.0 / std::sqrt(ss / C + (double)eps));
    float* o = out + (int64_t)n * C;
    for (int c = 0; c < C; ++c) o[c] = w[c] * (xr[c] * rs);
    rstd[n] = rs;
  }
}

// dx = rstd * (g*w - xhat * mean(g*w*xhat)), xhat = x * rstd.
void rmsnorm_backward(float* dx, const float* dy, const float* x, const float* w, const float* rstd, RowMap map,
                      int C) {
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t n = 0; n < map.rows; ++n) {
    const int64_t s = map.saved_row(n);
    const float* xr = x + s * C;
    const float* g = dy + n * C;
    const float rs = rstd[s];
    double sum_gx = 0.0;
    for (int c = 0; c < C; ++c) sum_gx += (double)(g[c] * w[c]) * (xr[c] * rs);
    const float mgx = (float)(sum_gx / C);
    float* o = dx + n * C;
    for (int c = 0; c < C; ++c) o[c] = rs * (g[c] * w[c] - (xr[c] * rs) * mgx);
  }
}

}  // namespace cpu
}  // namespace inq
