// Granular gradient accumulation (twin of cpu/grad_accumulate.cpp; see ops.h).
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

void grad_accumulate(float* acc, const float* grads, const float* weights, const float* mul, const int32_t* steps,
                     RowMap map, int row_off, int T_acc, int K, int C, cudaStream_t stream);
void grad_reduce(float* l2, float* sum, const float* acc, const float* mul, int T, int K, int C, cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
