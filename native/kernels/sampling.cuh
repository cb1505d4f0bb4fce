// The next token of each generation row (twin of cpu/sampling.cpp; op sample_tokens, ops.h): greedy argmax or a
// draw after temperature, top-k and top-p, and the chosen id's log-probability. One block per row.
//
// No sort of the vocabulary and no scratch: every id gets a unique key — the ordered bits of scaled = logit /
// temperature (NaN lowest, -0 = +0), then V - 1 - id — so that descending keys are the CPU's (scaled desc, id asc)
// order. The kept set and the drawn id are key thresholds found by binary searches over [smallest, largest key],
// one block reduction per step (about 32 + log2(V) steps each):
//   top-k: the largest K with count(key >= K) >= top_k (counts: exact, the CPU's k-th id);
//   top-p: the largest K with sum(p / sum over key >= K) >= top_p, i.e. the CPU's first position whose running
//          mass reaches top_p (none: all kept);
//   draw:  the largest K with sum(p over key >= K) > u * kept_sum, i.e. the CPU's first position whose running sum
//          exceeds the target (none, by rounding: the last kept id, as the CPU).
// The masses are block sums in double in a fixed order (deterministic) where the CPU sums sequentially in key order,
// and CUDA's double exp/log may differ from glibc's by an ulp, so a CUDA id differs from the CPU's only where a
// running sum lies within rounding of top_p or of u * kept_sum; log-probabilities agree to rounding.
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

void sample_tokens(int32_t* ids, float* logprobs, float* logits, const double* uniforms, const int32_t* forced,
                   const int32_t* ban_offsets, const int32_t* ban_ids, int N, int V, SampleParams p,
                   const Workspace& ws, cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
