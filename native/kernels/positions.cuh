// Position inputs of the encoder-decoder families (twin of cpu/positions.cpp): sinusoidal rows (layout 0 Marian,
// computed in double and rounded once; layout 1 fairseq / M2M100 in torch's float32 steps) and T5's relative
// position bias.
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

void sinusoidal_positions(float* out, const int32_t* pos, int N, int C, int layout, cudaStream_t stream);
void relative_position_bias(float* out, const float* table, int H, int Tq, int Tk, int q_offset, int bidirectional,
                            int num_buckets, int max_distance, cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
