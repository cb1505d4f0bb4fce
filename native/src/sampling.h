// Device sampling (ABI 6): argument checks shared by inq_sample_next and inq_op_run's "sample_tokens", and the
// export's body.
#pragma once

#include "common.h"
#include "context.h"
#include "ops.h"

namespace inq {

// Checks an inq_sampling (struct size, do_sample, temperature when sampling, top_k, top_p) and returns the op's
// parameters.
SampleParams sample_params(const inq_sampling* params);

// Checks the per-row inputs of n rows over a vocabulary of V: uniforms in [0, 1) where a row draws (sampled and
// not forced; uniforms may be NULL when greedy), forced ids in [-1, V), ban offsets non-decreasing from 0 with at
// most V ids per row, ban ids in [0, V).
void check_sample_rows(const SampleParams& p, const double* uniforms, const int32_t* forced,
                       const int32_t* ban_offsets, const int32_t* ban_ids, int n, int V);

// inq_sample_next: see the header.
void sample_next(Context* ctx, const inq_sampling* params, const double* uniforms, const int32_t* forced,
                 const int32_t* ban_offsets, const int32_t* ban_ids, int32_t* out_ids, float* out_logprobs);

}  // namespace inq
