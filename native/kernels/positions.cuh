// Sinusoidal position rows, Marian layout (twin of cpu/positions.cpp): computed in double, rounded once.
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

void sinusoidal_positions(float* out, const int32_t* pos, int N, int C, cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
