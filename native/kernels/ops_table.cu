// The CUDA ops table: the same entries as the CPU's (src/ops.h), each running its launcher on the stream of the
// queue bound to the calling thread (see Exec in common.cuh).
#include "attention.cuh"
#include "cross_attention.cuh"
#include "embedding.cuh"
#include "gated_act.cuh"
#include "gelu.cuh"
#include "grad_accumulate.cuh"
#include "layernorm.cuh"
#include "matmul.cuh"
#include "positions.cuh"
#include "residual.cuh"
#include "rmsnorm.cuh"
#include "rope.cuh"
#include "sampling.cuh"
#include "step_functions.cuh"

namespace inq {
namespace cuda {

namespace {

cudaStream_t stream() { return exec().stream; }

void op_embedding_forward(float* out, const int32_t* ids, const float* embeds, const int32_t* pos, const float* wte,
                          const float* wpe, int N, int C, int V, int P) {
  embedding_forward(out, ids, embeds, pos, wte, wpe, N, C, V, P, stream());
}
void op_layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b, int N,
                          int C, float eps) {
  layernorm_forward(out, mean, rstd, x, w, b, N, C, eps, stream());
}
void op_layernorm_backward(float* dx, const float* dy, const float* x, const float* w, const float* mean,
                           const float* rstd, RowMap map, int C) {
  layernorm_backward(dx, dy, x, w, mean, rstd, map, C, stream());
}
void op_rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int N, int C, float eps) {
  rmsnorm_forward(out, rstd, x, w, N, C, eps, stream());
}
void op_rmsnorm_backward(float* dx, const float* dy, const float* x, const float* w, const float* rstd, RowMap map,
                         int C) {
  rmsnorm_backward(dx, dy, x, w, rstd, map, C, stream());
}
void op_rope_forward(float* out, const float* x, const int32_t* pos, const float* inv_freq, int N, int W, int n_heads,
                     int hd, float theta) {
  rope_forward(out, x, pos, inv_freq, N, W, n_heads, hd, theta, stream());
}
void op_rope_backward(float* dx, const float* dy, const int32_t* pos, const float* inv_freq, RowMap map, int W,
                      int n_heads, int hd, float theta) {
  rope_backward(dx, dy, pos, inv_freq, map, W, n_heads, hd, theta, stream());
}
void op_matmul_forward(float* out, const float* x, const float* w, const float* bias, int N, int K, int M, int transB,
                       const Workspace& ws) {
  matmul_forward(out, x, w, bias, N, K, M, transB, ws, stream());
}
void op_matmul_backward_input(float* dx, const float* dy, const float* w, int N, int K, int M, int transB,
                              const Workspace& ws) {
  matmul_backward_input(dx, dy, w, N, K, M, transB, ws, stream());
}
void op_activation_forward(float* out, const float* x, int64_t N, int kind) {
  activation_forward(out, x, N, kind, stream());
}
void op_activation_backward(float* dx, const float* dy, const float* x, RowMap map, int W, int kind) {
  activation_backward(dx, dy, x, map, W, kind, stream());
}
void op_gated_act_forward(float* out, const float* gu, int64_t N, int I, int kind) {
  gated_act_forward(out, gu, N, I, kind, stream());
}
void op_gated_act_backward(float* dgu, const float* dy, const float* gu, RowMap map, int I, int kind) {
  gated_act_backward(dgu, dy, gu, map, I, kind, stream());
}
void op_residual_forward(float* out, const float* a, const float* b, int64_t N) {
  residual_forward(out, a, b, N, stream());
}
void op_attention_forward(float* out, float* att, const float* qkv, const int32_t* mask, int B, int T, int C, int H,
                          int KVH, int window, float scale) {
  attention_forward(out, att, qkv, mask, B, T, C, H, KVH, window, scale, stream());
}
void op_attention_backward(float* dqkv, float* scratch, const float* dout, const float* qkv, const float* att,
                           RowMap map, int C, int H, int KVH, float scale) {
  attention_backward(dqkv, scratch, dout, qkv, att, map, C, H, KVH, scale, stream());
}
void op_kv_cache_write(float* kcache, float* vcache, const float* qkv, int B, int T, int S, int pos0, int C, int H,
                       int KVH) {
  kv_cache_write(kcache, vcache, qkv, B, T, S, pos0, C, H, KVH, stream());
}
void op_attention_decode(float* out, float* att, const float* qkv, const float* kcache, const float* vcache,
                         const int32_t* mask, int B, int n_keys, int S, int C, int H, int KVH, int window,
                         float scale) {
  attention_decode(out, att, qkv, kcache, vcache, mask, B, n_keys, S, C, H, KVH, window, scale, stream());
}
void op_cotangent_scatter(float* out, const float* src, RowMap map, int C) {
  cotangent_scatter(out, src, map, C, stream());
}
void op_step_fn_scores(float* scores, const float* logits, const float* contrast_logits, const int32_t* targets,
                       const int32_t* contrast_targets, int R, int V, StepFnParams p, const Workspace& ws) {
  step_fn_scores(scores, logits, contrast_logits, targets, contrast_targets, R, V, p, ws, stream());
}
void op_step_fn_dlogits(float* dlogits, float* scores, const float* logits, const float* contrast_logits,
                        const int32_t* targets, const int32_t* contrast_targets, int R, int V, StepFnParams p,
                        const Workspace& ws) {
  step_fn_dlogits(dlogits, scores, logits, contrast_logits, targets, contrast_targets, R, V, p, ws, stream());
}
void op_cross_attention_forward(float* out, float* att, const float* q, const float* kv, const int32_t* mask, int B,
                                int Tq, int Tk, int C, int H, int64_t q_stride, int64_t kv_stride, int causal,
                                float scale, const float* bias) {
  cross_attention_forward(out, att, q, kv, mask, B, Tq, Tk, C, H, q_stride, kv_stride, causal, scale, bias,
                          stream());
}
void op_cross_attention_backward(float* dq, float* dkv, float* scratch, const float* dout, const float* q,
                                 const float* kv, const float* att, int R, int n_cot, int Tq, int Tk, int C, int H,
                                 int64_t q_stride, int64_t kv_stride, float scale) {
  cross_attention_backward(dq, dkv, scratch, dout, q, kv, att, R, n_cot, Tq, Tk, C, H, q_stride, kv_stride, scale,
                           stream());
}
void op_scale_add_forward(float* out, const float* a, float scale, const float* b, int64_t N) {
  scale_add_forward(out, a, scale, b, N, stream());
}
void op_sinusoidal_positions(float* out, const int32_t* pos, int N, int C, int layout) {
  sinusoidal_positions(out, pos, N, C, layout, stream());
}
void op_relative_position_bias(float* out, const float* table, int H, int Tq, int Tk, int q_offset, int bidirectional,
                               int num_buckets, int max_distance) {
  relative_position_bias(out, table, H, Tq, Tk, q_offset, bidirectional, num_buckets, max_distance, stream());
}
void op_sample_tokens(int32_t* ids, float* logprobs, float* logits, const double* uniforms, const int32_t* forced,
                      const int32_t* ban_offsets, const int32_t* ban_ids, int N, int V, SampleParams p,
                      const Workspace& ws) {
  sample_tokens(ids, logprobs, logits, uniforms, forced, ban_offsets, ban_ids, N, V, p, ws, stream());
}

// ABI 6: granular gradient accumulation.
void op_grad_accumulate(float* acc, const float* grads, const float* weights, const float* mul, const int32_t* steps,
                        RowMap map, int row_off, int T_acc, int K, int C) {
  grad_accumulate(acc, grads, weights, mul, steps, map, row_off, T_acc, K, C, stream());
}

void op_grad_reduce(float* l2, float* sum, const float* acc, const float* mul, int T, int K, int C) {
  grad_reduce(l2, sum, acc, mul, T, K, C, stream());
}

// Filled by name, so a reordered or extended Ops struct cannot silently shift entries.
Ops make_ops() {
  Ops o{};
  o.backend = "cuda";
  o.matmul_workspace_floats = matmul_workspace_floats();
  o.step_fn_workspace_floats = step_fn_workspace_floats;
  o.embedding_forward = op_embedding_forward;
  o.layernorm_forward = op_layernorm_forward;
  o.layernorm_backward = op_layernorm_backward;
  o.rmsnorm_forward = op_rmsnorm_forward;
  o.rmsnorm_backward = op_rmsnorm_backward;
  o.rope_forward = op_rope_forward;
  o.rope_backward = op_rope_backward;
  o.matmul_forward = op_matmul_forward;
  o.matmul_backward_input = op_matmul_backward_input;
  o.activation_forward = op_activation_forward;
  o.activation_backward = op_activation_backward;
  o.gated_act_forward = op_gated_act_forward;
  o.gated_act_backward = op_gated_act_backward;
  o.residual_forward = op_residual_forward;
  o.attention_forward = op_attention_forward;
  o.attention_backward = op_attention_backward;
  o.kv_cache_write = op_kv_cache_write;
  o.attention_decode = op_attention_decode;
  o.cotangent_scatter = op_cotangent_scatter;
  o.step_fn_scores = op_step_fn_scores;
  o.step_fn_dlogits = op_step_fn_dlogits;
  o.cross_attention_forward = op_cross_attention_forward;
  o.cross_attention_backward = op_cross_attention_backward;
  o.sinusoidal_positions = op_sinusoidal_positions;
  o.relative_position_bias = op_relative_position_bias;
  o.scale_add_forward = op_scale_add_forward;
  o.sample_tokens = op_sample_tokens;
  // ABI 6: granular gradient accumulation.
  o.grad_accumulate = op_grad_accumulate;
  o.grad_reduce = op_grad_reduce;
  return o;
}

}  // namespace

const Ops& cuda_ops() {
  static const Ops ops = make_ops();
  return ops;
}

}  // namespace cuda
}  // namespace inq
