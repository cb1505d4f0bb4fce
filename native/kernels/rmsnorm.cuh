// RMSNorm forward and input backward (twin of cpu/rmsnorm.cpp): one block per row, the mean square in double with a
// fixed reduction order.
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int N, int C, float eps,
                     cudaStream_t stream);
void rmsnorm_backward(float* dx, const float* dy, const float* x, const float* w, const float* rstd, RowMap map,
                      int C, cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
