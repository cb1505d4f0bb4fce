// MLP activations (inq_activation: GELU tanh / erf, ReLU, SiLU) and their input backward (twin of cpu/gelu.cpp).
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

void activation_forward(float* out, const float* x, int64_t N, int kind, cudaStream_t stream);
void activation_backward(float* dx, const float* dy, const float* x, RowMap map, int W, int kind, cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
