// Argument checks shared by the step-function exports and inq_op_run.
#pragma once

#include "common.h"
#include "ops.h"

namespace inq {

// Checks an inq_step_fn_args (struct size, enum, logprob, top_p) and returns the op parameters. With for_gradient,
// also rejects the functions that have no gradient: TOP_P_SIZE (a count) and KL_DIVERGENCE when the contrast shares
// the row's logits (identically 0).
StepFnParams step_fn_params(const inq_step_fn_args* args, bool for_gradient, bool shares);

// Name of an inq_step_fn value for messages ("probability", ...).
const char* step_fn_name(int fn);

// Checks ids[i] in [0, vocab) for the n entries (skipping entries where skip != NULL and skip[i] < 0).
void check_step_ids(const int32_t* ids, int64_t n, int vocab, const char* what, const int32_t* skip = nullptr);

}  // namespace inq
