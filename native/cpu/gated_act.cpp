// Gated MLPs: down(act(gate(x)) * up(x)), SwiGLU (Llama, act = SiLU) and T5's gated-gelu (act = GELU tanh). gate and
// up run as one GEMM whose rows hold gate | up (2I floats); these ops combine them.
#include "activation.h"
#include "cpu.h"
#include "../src/common.h"

namespace inq {
namespace cpu {

void gated_act_forward(float* out, const float* gu, int64_t N, int I, int kind) {
#pragma omp parallel for schedule(static) num_threads(num_threads()) if (N * I > 16384)
  for (int64_t n = 0; n < N; ++n) {
    const float* g = gu + n * 2 * I;
    const float* u = g + I;
    float* o = out + n * I;
    for (int i = 0; i < I; ++i) o[i] = act(g[i], kind) * u[i];
  }
}

void gated_act_backward(float* dgu, const float* dy, const float* gu, RowMap map, int I, int kind) {
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t n = 0; n < map.rows; ++n) {
    const float* g = gu + map.saved_row(n) * 2 * I;
    const float* u = g + I;
    const float* d = dy + n * I;
    float* dg = dgu + n * 2 * I;
    float* du = dg + I;
    for (int i = 0; i < I; ++i) {
      du[i] = d[i] * act(g[i], kind);
      dg[i] = d[i] * u[i] * act_grad(g[i], kind);
    }
  }
}

}  // namespace cpu
}  // namespace inq
