// The GPT-2 graph, written once against the ops table (ops.h): forward from a point (0: the embeddings), optionally
// kept for backward and with attention probabilities; the backward of DESIGN §5 down to a point; Inseq's step
// functions on the last forward's logits rows and their backward; KV-cached decoding.
#pragma once

#include "context.h"

namespace inq {

// point 0: ids or embeds (token embeddings, positions added inside); point > 0: embeds is the activation there.
void gpt2_forward(Context* ctx, int point, int batch, int seq, const int32_t* ids, const float* embeds,
                  const int32_t* mask, int logits_mode, float* logits, int flags, bool fill_cache);
void gpt2_get_attention(Context* ctx, int layer, float* out);
void gpt2_get_hidden(Context* ctx, int point, float* out);
void gpt2_backward(Context* ctx, int point, int batch, int n_cot, const int32_t* positions, const float* dlogits,
                   float* d_out);
void gpt2_step_scores(Context* ctx, const inq_step_fn_args* args, int n_rows, const int32_t* batch_index,
                      const int32_t* positions, const int32_t* targets, const int32_t* contrast_targets,
                      const int32_t* contrast_batch_index, const int32_t* contrast_positions,
                      const float* contrast_logits, float* scores);
void gpt2_backward_step(Context* ctx, const inq_step_fn_args* args, int point, int batch, int n_cot,
                        const int32_t* positions, const int32_t* targets, const int32_t* contrast_targets,
                        const float* contrast_logits, float* d_out, float* scores);
void gpt2_cache_step(Context* ctx, int batch, const int32_t* next_ids, float* logits);

}  // namespace inq
