// The gated MLP's combination act(gate) * up over rows of gate | up (act an inq_activation: SwiGLU, gated-gelu), and
// its input backward (twin of cpu/gated_act.cpp).
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

void gated_act_forward(float* out, const float* gu, int64_t N, int I, int kind, cudaStream_t stream);
void gated_act_backward(float* dgu, const float* dy, const float* gu, RowMap map, int I, int kind,
                        cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
