// out = a + b (twin of cpu/residual.cpp).
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

void residual_forward(float* out, const float* a, const float* b, int64_t N, cudaStream_t stream);
// out = a * scale + b (twin of cpu/residual.cpp).
void scale_add_forward(float* out, const float* a, float scale, const float* b, int64_t N, cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
