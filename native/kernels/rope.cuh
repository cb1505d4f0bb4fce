// Rotary position embeddings, Hugging Face's rotate_half layout (twin of cpu/rope.cpp): one block per row, the
// row's angles computed once into shared memory with the CPU's arithmetic (inv_freq and the angle in fp32, cos and
// sin of that angle in double, rounded). inv_freq: a table of hd/2 frequencies (device memory) or NULL (theta-based).
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

void rope_forward(float* out, const float* x, const int32_t* pos, const float* inv_freq, int N, int W, int n_heads,
                  int hd, float theta, cudaStream_t stream);
void rope_backward(float* dx, const float* dy, const int32_t* pos, const float* inv_freq, RowMap map, int W,
                   int n_heads, int hd, float theta, cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
