// Argument checks shared by the step-function exports and inq_op_run.
#pragma once

#include <functional>

#include "common.h"
#include "context.h"
#include "ops.h"

namespace inq {

// Checks an inq_step_fn_args (struct size, enum, logprob, top_p) and returns the op parameters. With for_gradient,
// also rejects the functions that have no gradient: TOP_P_SIZE (a count) and KL_DIVERGENCE when the contrast shares
// the row's logits (identically 0).
StepFnParams step_fn_params(const inq_step_fn_args* args, bool for_gradient, bool shares);

// Name of an inq_step_fn value for messages ("probability", ...).
const char* step_fn_name(int fn);

// The attributed function's dlogits for the R = batch * n_cot cotangent rows of a backward (both graphs share this):
// stages the targets (a row with a negative position carries no cotangent: it is computed on (b, 0) with id 0 and then
// zeroed), calls logits_rows(b, t) to write the logits rows of (b[r], t[r]) into step_logits, adds the caller's
// constant contrast rows, runs step_fn_dlogits into step_dlogits and downloads the scores (NaN for dead rows; scores
// may be NULL). Returns step_dlogits (arena).
float* step_dlogits_rows(Context* ctx, const StepFnParams& prm, int R, int n_cot, const int32_t* positions,
                         const int32_t* targets, const int32_t* contrast_targets, const float* contrast_logits,
                         float* scores, const std::function<void(const int32_t* b, const int32_t* t)>& logits_rows);

// Checks ids[i] in [0, vocab) for the n entries (skipping entries where skip != NULL and skip[i] < 0).
void check_step_ids(const int32_t* ids, int64_t n, int vocab, const char* what, const int32_t* skip = nullptr);

}  // namespace inq
