// Token + position embeddings and the cotangent scatter of the backward (twin of cpu/embedding.cpp).
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

void embedding_forward(float* out, const int32_t* ids, const float* embeds, const int32_t* pos, const float* wte,
                       const float* wpe, int N, int C, int V, int P, cudaStream_t stream);
void cotangent_scatter(float* out, const float* src, RowMap map, int C, cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
