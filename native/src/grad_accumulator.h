// A context's granular gradient accumulator (inq_grad_accumulator_*, ABI 6; DESIGN §5.6 "aggregate where the data
// is"): [rows, steps, n_embd] in device memory of its own (sized on reset, outside the hot path), into which the
// accumulating backwards add weighted gradient rows with the grad_accumulate op, so that only the granular result
// crosses to the host, once.
#pragma once

#include "context.h"

namespace inq {

struct GradAccumulator {
  int rows = 0, steps = 0, n_mult = 0;  // rows == 0: not reset yet
  size_t cap = 0;                       // bytes of mem
  char* mem = nullptr;  // acc [rows, steps, C] | mul [n_mult, rows, C] | weights [max_batch] | steps [max_cot]
  float *acc = nullptr, *mul = nullptr, *weights = nullptr;
  int32_t* step_idx = nullptr;
};

// What an accumulating backward call adds: forward row b's gradients times row_weights[b] (and times multiplier row
// mult_row0 + b when the accumulator has multipliers) into the cells of step steps[i] for cotangent column i.
struct AccumulateArgs {
  const int32_t* steps;       // [n_cot] host
  const float* row_weights;   // [batch] host
  int mult_row0;
};

// The device view of one call, after validation and upload: what backward cores pass to ops.grad_accumulate.
struct AccumulateTarget {
  float* acc;
  const float* weights;
  const float* mul;  // multiplier row of forward row 0 of the call, or NULL
  const int32_t* steps;
  int T_acc, K;
};

void grad_accumulator_reset(Context* ctx, int rows, int steps, int n_mult, const float* multipliers);
void grad_accumulator_read(Context* ctx, float* out);
void grad_accumulator_reduce(Context* ctx, const float* multipliers, float* l2, float* sums);
// Checks a call against the accumulator (INQ_ERR_STATE before a reset; INQ_ERR_SHAPE when the accumulator's rows
// differ from `rows` the backward covers; steps distinct and in range; every position >= 0) and uploads its weights
// and steps.
AccumulateTarget grad_accumulate_prepare(Context* ctx, int batch, int n_cot, const int32_t* positions,
                                         const AccumulateArgs& a, int rows, const char* what);
// Frees the accumulator's memory (context destruction).
void grad_accumulator_free(Context* ctx) noexcept;

}  // namespace inq
