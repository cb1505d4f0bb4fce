// Inseq's step functions over logits rows (twin of cpu/step_functions.cpp): scores and gradients with respect to
// the logits. One block per row; every reduction runs in double in a fixed order (deterministic).
//
// Top-p and top-k filtering (KL_DIVERGENCE, TOP_P_SIZE) keep the CPU's ids without sorting and without scratch:
// the CPU drops the longest prefix of the ascending (probability, id) order whose running sum stays <= (double)
// (1 - top_p) (and at most V - min_keep ids), so the dropped set is {(p, id) <= K} for the largest key K that
// satisfies that; a binary search over the key (the probability's bits, then the id) finds K with one block
// reduction per step. The k-th largest kept logit of top-k is found the same way over the logits' ordered bits
// (counts only: exact). The sums differ from the CPU's sequential running sum only in rounding.
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

size_t step_fn_workspace_floats(int V);
void step_fn_scores(float* scores, const float* logits, const float* contrast_logits, const int32_t* targets,
                    const int32_t* contrast_targets, int R, int V, StepFnParams p, const Workspace& ws,
                    cudaStream_t stream);
void step_fn_dlogits(float* dlogits, float* scores, const float* logits, const float* contrast_logits,
                     const int32_t* targets, const int32_t* contrast_targets, int R, int V, StepFnParams p,
                     const Workspace& ws, cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
