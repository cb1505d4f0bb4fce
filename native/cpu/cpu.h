// CPU twin of every op in the ops table (src/ops.h). One file per op family; native/kernels mirrors the names.
#pragma once

#include "../src/ops.h"

namespace inq {
namespace cpu {

void embedding_forward(float* out, const int32_t* ids, const float* embeds, const int32_t* pos, const float* wte,
                       const float* wpe, int N, int C, int V, int P);

void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b, int N,
                       int C, float eps);
void layernorm_backward(float* dx, const float* dy, const float* x, const float* w, const float* mean,
                        const float* rstd, RowMap map, int C);

void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int N, int C, float eps);
void rmsnorm_backward(float* dx, const float* dy, const float* x, const float* w, const float* rstd, RowMap map,
                      int C);

void rope_forward(float* out, const float* x, const int32_t* pos, const float* inv_freq, int N, int W, int n_heads,
                  int hd, float theta);
void rope_backward(float* dx, const float* dy, const int32_t* pos, const float* inv_freq, RowMap map, int W,
                   int n_heads, int hd, float theta);

size_t matmul_workspace_floats();
void matmul_forward(float* out, const float* x, const float* w, const float* bias, int N, int K, int M, int transB,
                    const Workspace& ws);
void matmul_backward_input(float* dx, const float* dy, const float* w, int N, int K, int M, int transB,
                           const Workspace& ws);
// Name of the GEMM micro-kernel picked for this CPU at run time ("avx512", "avx2", "generic").
const char* matmul_kernel_name();

void activation_forward(float* out, const float* x, int64_t N, int kind);
void activation_backward(float* dx, const float* dy, const float* x, RowMap map, int W, int kind);

void gated_act_forward(float* out, const float* gu, int64_t N, int I, int kind);
void gated_act_backward(float* dgu, const float* dy, const float* gu, RowMap map, int I, int kind);

void residual_forward(float* out, const float* a, const float* b, int64_t N);
void scale_add_forward(float* out, const float* a, float scale, const float* b, int64_t N);

void attention_forward(float* out, float* att, const float* qkv, const int32_t* mask, int B, int T, int C, int H,
                       int KVH, int window, float scale);
void attention_backward(float* dqkv, float* scratch, const float* dout, const float* qkv, const float* att, RowMap map,
                        int C, int H, int KVH, float scale);
void kv_cache_write(float* kcache, float* vcache, const float* qkv, int B, int T, int S, int pos0, int C, int H,
                    int KVH);
void attention_decode(float* out, float* att, const float* qkv, const float* kcache, const float* vcache,
                      const int32_t* mask, int B, int n_keys, int S, int C, int H, int KVH, int window,
                      float scale);
void cotangent_scatter(float* out, const float* src, RowMap map, int C);

void cross_attention_forward(float* out, float* att, const float* q, const float* kv, const int32_t* mask, int B,
                             int Tq, int Tk, int C, int H, int64_t q_stride, int64_t kv_stride, int causal,
                             float scale, const float* bias);
void cross_attention_backward(float* dq, float* dkv, float* scratch, const float* dout, const float* q,
                              const float* kv, const float* att, int R, int n_cot, int Tq, int Tk, int C, int H,
                              int64_t q_stride, int64_t kv_stride, float scale);
void sinusoidal_positions(float* out, const int32_t* pos, int N, int C, int layout);
void relative_position_bias(float* out, const float* table, int H, int Tq, int Tk, int q_offset, int bidirectional,
                            int num_buckets, int max_distance);

size_t step_fn_workspace_floats(int V);
void step_fn_scores(float* scores, const float* logits, const float* contrast_logits, const int32_t* targets,
                    const int32_t* contrast_targets, int R, int V, StepFnParams p, const Workspace& ws);
void step_fn_dlogits(float* dlogits, float* scores, const float* logits, const float* contrast_logits,
                     const int32_t* targets, const int32_t* contrast_targets, int R, int V, StepFnParams p,
                     const Workspace& ws);

// Uses 2V floats of workspace per thread when sampling (the context's workspace is sized for step_fn_* >= that).
void sample_tokens(int32_t* ids, float* logprobs, float* logits, const double* uniforms, const int32_t* forced,
                   const int32_t* ban_offsets, const int32_t* ban_ids, int N, int V, SampleParams p,
                   const Workspace& ws);
// Granular gradient accumulation (grad_accumulate.cpp).
void grad_accumulate(float* acc, const float* grads, const float* weights, const float* mul, const int32_t* steps,
                     RowMap map, int row_off, int T_acc, int K, int C);
void grad_reduce(float* l2, float* sum, const float* acc, const float* mul, int T, int K, int C);

}  // namespace cpu
}  // namespace inq
