// LayerNorm forward and input backward (twin of cpu/layernorm.cpp): one block per row, statistics in double with a
// fixed reduction order.
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b, int N,
                       int C, float eps, cudaStream_t stream);
void layernorm_backward(float* dx, const float* dy, const float* x, const float* w, const float* mean,
                        const float* rstd, RowMap map, int C, cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
