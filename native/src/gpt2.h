// The GPT-2 graph, written once against the ops table (ops.h): forward (optionally kept for backward and with
// attention probabilities), the input-embedding backward of DESIGN §5, and KV-cached decoding.
#pragma once

#include "context.h"

namespace inq {

void gpt2_forward(Context* ctx, int batch, int seq, const int32_t* ids, const float* embeds, const int32_t* mask,
                  int logits_mode, float* logits, int flags, bool fill_cache);
void gpt2_get_attention(Context* ctx, int layer, float* out);
void gpt2_backward_embeds(Context* ctx, int batch, int n_cot, const int32_t* positions, const float* dlogits,
                          float* d_embeds);
void gpt2_cache_step(Context* ctx, int batch, const int32_t* next_ids, float* logits);

}  // namespace inq
