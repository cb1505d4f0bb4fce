#include "cpu.h"
#include "../src/common.h"

namespace inq {
namespace cpu {

// Ids and positions are range-checked by the caller (the graph or inq_op_run) before any op runs.
void embedding_forward(float* out, const int32_t* ids, const float* embeds, const int32_t* pos, const float* wte,
                       const float* wpe, int N, int C, int V, int P) {
  (void)V;
  (void)P;
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int n = 0; n < N; ++n) {
    const float* e = ids ? wte + (int64_t)ids[n] * C : embeds + (int64_t)n * C;
    float* o = out + (int64_t)n * C;
    if (!wpe) {  // rotary models: positions act inside attention
      for (int c = 0; c < C; ++c) o[c] = e[c];
      continue;
    }
    const float* p = wpe + (int64_t)pos[n] * C;
    for (int c = 0; c < C; ++c) o[c] = e[c] + p[c];
  }
}

void cotangent_scatter(float* out, const float* src, RowMap map, int C) {
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int r = 0; r < map.R; ++r) {
    const int len = map.len(r);
    if (len == 0) continue;
    float* o = out + (int64_t)map.start[r] * C;
    for (int64_t i = 0; i < (int64_t)(len - 1) * C; ++i) o[i] = 0.0f;
    for (int c = 0; c < C; ++c) o[(int64_t)(len - 1) * C + c] = src[(int64_t)r * C + c];
  }
}

}  // namespace cpu
}  // namespace inq
