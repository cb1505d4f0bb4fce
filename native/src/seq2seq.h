// The encoder-decoder graph (MARIAN) over the ops table; see seq2seq.cpp.
#pragma once

#include "context.h"

namespace inq {

void seq2seq_forward(Context* ctx, int batch, int src_len, int tgt_len, const int32_t* src_ids,
                     const float* src_embeds, const int32_t* src_mask, const int32_t* tgt_ids,
                     const float* tgt_embeds, const int32_t* tgt_mask, int logits_mode, float* logits, int flags);

}  // namespace inq
