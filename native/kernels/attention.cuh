// Causal multi-head / grouped-query self-attention with a key padding mask and an optional sliding window, kept probabilities, its input backward,
// and the KV-cache append and one-query decode step (twin of cpu/attention.cpp). The forward and the decode step
// share attend_row with the same block size, so a cached step reproduces the full forward bit for bit. Sums run in a
// fixed order (no atomics): a second run gives the same bits.
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

void attention_forward(float* out, float* att, const float* qkv, const int32_t* mask, int B, int T, int C, int H,
                       int KVH, int window, float scale, cudaStream_t stream);
void attention_backward(float* dqkv, float* scratch, const float* dout, const float* qkv, const float* att, RowMap map,
                        int C, int H, int KVH, float scale, cudaStream_t stream);
void kv_cache_write(float* kcache, float* vcache, const float* qkv, int B, int T, int S, int pos0, int C, int H,
                    int KVH, cudaStream_t stream);
void attention_decode(float* out, float* att, const float* qkv, const float* kcache, const float* vcache,
                      const int32_t* mask, int B, int n_keys, int S, int C, int H, int KVH, int window,
                      float scale, cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
