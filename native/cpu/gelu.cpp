// Activations of the MLP (inq_activation): GELU in its tanh (gelu_new) and erf forms, ReLU, SiLU.
#include "activation.h"
#include "cpu.h"
#include "../src/common.h"

namespace inq {
namespace cpu {

void activation_forward(float* out, const float* x, int64_t N, int kind) {
#pragma omp parallel for schedule(static) num_threads(num_threads()) if (N > 16384)
  for (int64_t i = 0; i < N; ++i) out[i] = act(x[i], kind);
}

void activation_backward(float* dx, const float* dy, const float* x, RowMap map, int W, int kind) {
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t n = 0; n < map.rows; ++n) {
    const float* xr = x + map.saved_row(n) * W;
    const float* g = dy + n * W;
    float* o = dx + n * W;
    for (int i = 0; i < W; ++i) o[i] = g[i] * act_grad(xr[i], kind);
  }
}

}  // namespace cpu
}  // namespace inq
