// The gated MLP's combination silu(gate) * up over rows of gate | up, and its input backward (twin of
// cpu/swiglu.cpp).
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

void swiglu_forward(float* out, const float* gu, int64_t N, int I, cudaStream_t stream);
void swiglu_backward(float* dgu, const float* dy, const float* gu, RowMap map, int I, cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
