#include "cpu.h"
#include "../src/common.h"

namespace inq {
namespace cpu {

void residual_forward(float* out, const float* a, const float* b, int64_t N) {
#pragma omp parallel for schedule(static) num_threads(num_threads()) if (N > 65536)
  for (int64_t i = 0; i < N; ++i) out[i] = a[i] + b[i];
}

void scale_add_forward(float* out, const float* a, float scale, const float* b, int64_t N) {
#pragma omp parallel for schedule(static) num_threads(num_threads()) if (N > 65536)
  for (int64_t i = 0; i < N; ++i) out[i] = a[i] * scale + b[i];
}

}  // namespace cpu
}  // namespace inq
