// Attention over separate query and key/value rows (bidirectional encoder self-attention, decoder cross-attention,
// optionally causal, optionally with an [H,Tq,Tk] score bias) with a key padding mask, kept probabilities and its input backward (twin of
// cpu/cross_attention.cpp). Straightforward kernels: one thread per (row, head, query) in the forward and per
// (cotangent row, head) in the backward, sums in a fixed order (no atomics). Correct first; not tuned.
#pragma once

#include "common.cuh"

namespace inq {
namespace cuda {

void cross_attention_forward(float* out, float* att, const float* q, const float* kv, const int32_t* mask, int B,
                             int Tq, int Tk, int C, int H, int64_t q_stride, int64_t kv_stride, int causal,
                             float scale, const float* bias, cudaStream_t stream);
void cross_attention_backward(float* dq, float* dkv, float* scratch, const float* dout, const float* q,
                              const float* kv, const float* att, int R, int n_cot, int Tq, int Tk, int C, int H,
                              int64_t q_stride, int64_t kv_stride, float scale, cudaStream_t stream);

}  // namespace cuda
}  // namespace inq
