// The encoder-decoder graph (MARIAN, M2M100, T5) over the ops table; see seq2seq.cpp.
#pragma once

#include "context.h"

namespace inq {

struct AccumulateArgs;    // grad_accumulator.h (ABI 6)
struct AccumulateTarget;

// Arena regions of S2SLayout: the float buffers (before the integer block) and the integer tables (inside it).
// `off` is the running byte offset of context_layout. Nothing is taken for decoder-only models.
void seq2seq_layout_floats(S2SLayout& S, const Model* m, int max_batch, int max_seq, int max_cot, size_t& off);
void seq2seq_layout_ints(S2SLayout& S, const Model* m, int max_batch, int max_seq, int max_cot, size_t& off);

void seq2seq_forward(Context* ctx, int batch, int src_len, int tgt_len, const int32_t* src_ids,
                     const float* src_embeds, const int32_t* src_mask, const int32_t* tgt_ids,
                     const float* tgt_embeds, const int32_t* tgt_mask, int logits_mode, float* logits, int flags);
void seq2seq_backward(Context* ctx, int batch, int n_cot, const int32_t* positions, const float* dlogits,
                      float* d_src, float* d_tgt);
void seq2seq_get_attention(Context* ctx, int kind, int layer, float* out);
void seq2seq_embed_tokens(Context* ctx, const int32_t* ids, int n, float* out);
void seq2seq_cache_step(Context* ctx, int batch, const int32_t* next_ids, float* logits);
void seq2seq_step_scores(Context* ctx, const inq_step_fn_args* args, int n_rows, const int32_t* batch_index,
                         const int32_t* positions, const int32_t* targets, const int32_t* contrast_targets,
                         const float* contrast_logits, float* scores);
void seq2seq_backward_step(Context* ctx, const inq_step_fn_args* args, int batch, int n_cot, const int32_t* positions,
                           const int32_t* targets, const int32_t* contrast_targets, const float* contrast_logits,
                           float* d_src, float* d_tgt, float* scores, const AccumulateArgs* acc_args = nullptr);

// ---- shared by seq2seq.cpp and seq2seq_step_fn.cpp
// Argument and state checks of a backward from the kept forward.
void seq2seq_check_backward(const Context* ctx, int batch, int n_cot, const int32_t* positions);
// The backward from dlogits [batch * n_cot, V] already in arena memory (device pointer) to the caller's d_src / d_tgt,
// or (acc, ABI 6) added into the context's gradient accumulator: source rows 0 .. src_len - 1, then target rows.
void seq2seq_backward_core(Context* ctx, int batch, int n_cot, const int32_t* positions, const float* dlogits,
                           float* d_src, float* d_tgt, const AccumulateTarget* acc = nullptr);
// Logits rows out [n, V] (arena) of decoder-output rows `rows` [n, C] (arena; T5's tied head scales them in place).
void seq2seq_logits_rows(Context* ctx, float* rows, int n, float* out);

}  // namespace inq
