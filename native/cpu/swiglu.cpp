// The gated MLP of Llama-style blocks: down(silu(gate(x)) * up(x)). gate and up run as one GEMM whose rows hold
// gate | up (2I floats); these ops combine them.
#include <cmath>

#include "cpu.h"
#include "../src/common.h"

namespace inq {
namespace cpu {

void swiglu_forward(float* out, const float* gu, int64_t N, int I) {
#pragma omp parallel for schedule(static) num_threads(num_threads()) if (N * I > 16384)
  for (int64_t n = 0; n < N; ++n) {
    const float* g = gu + n * 2 * I;
    const float* u = g + I;
    float* o = out + n * I;
    for (int i = 0; i < I; ++i) o[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  }
}

void swiglu_backward(float* dgu, const float* dy, const float* gu, RowMap map, int I) {
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t n = 0; n < map.rows; ++n) {
    const float* g = gu + map.saved_row(n) * 2 * I;
    const float* u = g + I;
    const float* d = dy + n * I;
    float* dg = dgu + n * 2 * I;
    float* du = dg + I;
    for (int i = 0; i < I; ++i) {
      const float s = 1.0f / (1.0f + std::exp(-g[i]));
      du[i] = d[i] * g[i] * s;
      dg[i] = d[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
    }
  }
}

}  // namespace cpu
}  // namespace inq
