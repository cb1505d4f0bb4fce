// The decoder-only graph, written once against the ops table (ops.h): forward from a point (0: the embeddings),
// optionally kept for backward and with attention probabilities; the backward of DESIGN §5 down to a point; Inseq's
// step functions on the last forward's logits rows and their backward; KV-cached decoding. What differs between
// families is the block (gpt2.cpp, llama.cpp) and the norm kind; everything around the blocks is shared here.
#pragma once

#include "context.h"

namespace inq {

struct AccumulateArgs;  // grad_accumulator.h (ABI 6)

// point 0: ids or embeds (token embeddings, positions added inside); point > 0: embeds is the activation there.
void decoder_forward(Context* ctx, int point, int batch, int seq, const int32_t* ids, const float* embeds,
                     const int32_t* mask, int logits_mode, float* logits, int flags, bool fill_cache);
void decoder_get_attention(Context* ctx, int layer, float* out);
void decoder_get_hidden(Context* ctx, int point, float* out);
void decoder_backward(Context* ctx, int point, int batch, int n_cot, const int32_t* positions, const float* dlogits,
                      float* d_out);
void decoder_step_scores(Context* ctx, const inq_step_fn_args* args, int n_rows, const int32_t* batch_index,
                         const int32_t* positions, const int32_t* targets, const int32_t* contrast_targets,
                         const int32_t* contrast_batch_index, const int32_t* contrast_positions,
                         const float* contrast_logits, float* scores);
void decoder_backward_step(Context* ctx, const inq_step_fn_args* args, int point, int batch, int n_cot,
                           const int32_t* positions, const int32_t* targets, const int32_t* contrast_targets,
                           const float* contrast_logits, float* d_out, float* scores,
                           const AccumulateArgs* acc_args = nullptr);
void decoder_cache_step(Context* ctx, int batch, const int32_t* next_ids, float* logits);
// Token embedding rows (no positions) of n range-checked ids into the caller's out [n, C].
void decoder_embed_tokens(Context* ctx, const int32_t* ids, int n, float* out);

// ---- what the family blocks share with the graph

Workspace workspace(const Context* ctx);
float attention_scale(const inq_model_config& c, int layer);

// Per-layer views of the arena (compact [rows, width] with the forward's rows; see Layout).
struct LayerBufs {
  float *x, *mid, *y, *ln1_mean, *ln1_rstd, *ln2_mean, *ln2_rstd, *qkv, *att, *fc_pre;
};
LayerBufs layer_bufs(const Context* ctx, int l);
float* kcache_of(const Context* ctx, int l);
float* vcache_of(const Context* ctx, int l);

// One family's transformer block. forward: rows batch * seq of layer_bufs(l).x to .y (attention probabilities into
// .att, the cache filled when asked); decode: one new token per row against the cache of len positions (its k and v
// written at position len); backward: ctx's gradient buffer g holds d/d(block output) for map.rows rows on entry and
// d/d(block input) on return.
struct BlockFns {
  void (*forward)(Context* ctx, int l, int batch, int seq, const int32_t* mask, bool fill_cache);
  void (*decode)(Context* ctx, int l, int batch, int len);
  void (*backward)(Context* ctx, int l, const RowMap& map);
};
const BlockFns& gpt2_block();
const BlockFns& llama_block();

}  // namespace inq
