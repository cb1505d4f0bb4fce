// The encoder-decoder graph (MARIAN), written once against the ops table: embeddings (token rows x embed_scale, or
// the caller's already scaled embeddings, plus sinusoidal position rows), post-norm encoder blocks (bidirectional
// self-attention with the source padding mask, MLP), post-norm decoder blocks (causal self-attention, cross-attention
// over the encoder output with the source mask, MLP), tied LM head + final_logits_bias.
// Forward only for now; the kept forward and the backward to source and target embeddings come next (the buffers
// below are per call; a kept forward needs per-layer copies like decoder.cpp's Layout).
#include "seq2seq.h"

#include <cmath>
#include <cstring>

#include "decoder.h"

namespace inq {

namespace {

void check_ids(const int32_t* ids, int64_t n, int vocab, const char* what) {
  for (int64_t i = 0; i < n; ++i)
    INQ_CHECK(ids[i] >= 0 && ids[i] < vocab, INQ_ERR_INVALID_ARGUMENT,
              "%s[%lld] = %d is outside the vocabulary [0, %d)", what, (long long)i, ids[i], vocab);
}

void check_mask(const int32_t* mask, int64_t n, const char* what) {
  if (!mask) return;
  for (int64_t i = 0; i < n; ++i)
    INQ_CHECK(mask[i] == 0 || mask[i] == 1, INQ_ERR_INVALID_ARGUMENT, "%s[%lld] = %d is not 0 or 1", what,
              (long long)i, mask[i]);
}

// Copies the caller's ints into integer table `off` (host view; pushed to the device copy) and returns the ops' view.
const int32_t* stage(Context* ctx, size_t off, const int32_t* host, int64_t n) {
  if (!host) return nullptr;
  std::memcpy(ctx->hbuf(off), host, sizeof(int32_t) * n);
  ctx->push_ints(off, n);
  return ctx->buf<int32_t>(off);
}

// out [B*T, C] = token rows x embed_scale (ids) or the caller's embeds, plus the sinusoidal rows of positions 0..T-1.
void embed(Context* ctx, float* out, int B, int T, const int32_t* ids_d, const float* embeds) {
  const Model* m = ctx->model;
  const inq_model_config& c = m->cfg;
  const Ops& ops = *ctx->ops;
  const Layout& L = ctx->L;
  const int C = c.n_embd, P = c.n_positions;
  const int64_t BT = (int64_t)B * T;
  int32_t* pos = ctx->hbuf(L.s2s_pos);
  for (int64_t i = 0; i < BT; ++i) pos[i] = (int32_t)(i % T);
  ctx->push_ints(L.s2s_pos, BT);
  float* rows = ctx->buf(L.s2s_t2);
  ops.embedding_forward(rows, ctx->buf<int32_t>(L.s2s_pos), nullptr, nullptr, ctx->buf(L.s2s_table), nullptr,
                        (int)BT, C, P, P);
  if (ids_d) {
    float* tok = ctx->buf(L.s2s_t1);
    ops.embedding_forward(tok, ids_d, nullptr, nullptr, m->wte, nullptr, (int)BT, C, c.vocab_size, P);
    ops.scale_add_forward(out, tok, c.embed_scale, rows, BT * C);
  } else {
    ops.scale_add_forward(out, embeds, 1.0f, rows, BT * C);
  }
}

// x [B*T, C] <- LN(x + self-attention(x)); causal for the decoder, key mask `mask` [B, T] (NULL: all visible).
void self_attention_block(Context* ctx, const Seq2SeqLayerWeights& w, float* x, int B, int T, const int32_t* mask,
                          int causal) {
  const inq_model_config& c = ctx->model->cfg;
  const Ops& ops = *ctx->ops;
  const Layout& L = ctx->L;
  const Workspace ws = workspace(ctx);
  const int C = c.n_embd, H = c.n_head, N = B * T;
  const float scale = 1.0f / std::sqrt((float)(C / H));
  float *wide = ctx->buf(L.s2s_wide), *t1 = ctx->buf(L.s2s_t1), *t2 = ctx->buf(L.s2s_t2);
  ops.matmul_forward(wide, x, w.self_qkv_w, w.self_qkv_b, N, C, 3 * C, 1, ws);
  ops.cross_attention_forward(t1, ctx->buf(L.s2s_att), wide, wide + C, mask, B, T, T, C, H, 3 * C, 3 * C, causal,
                              scale);
  ops.matmul_forward(t2, t1, w.self_o_w, w.self_o_b, N, C, C, 1, ws);
  ops.residual_forward(t2, x, t2, (int64_t)N * C);
  ops.layernorm_forward(x, ctx->buf(L.s2s_mean), ctx->buf(L.s2s_rstd), t2, w.ln1_w, w.ln1_b, N, C, c.norm_eps);
}

// y [B*Tt, C] <- LN(y + cross-attention(y, enc)); enc [B*Ts, C], src_mask [B, Ts] masks encoder keys.
void cross_attention_block(Context* ctx, const Seq2SeqLayerWeights& w, float* y, const float* enc, int B, int Tt,
                           int Ts, const int32_t* src_mask) {
  const inq_model_config& c = ctx->model->cfg;
  const Ops& ops = *ctx->ops;
  const Layout& L = ctx->L;
  const Workspace ws = workspace(ctx);
  const int C = c.n_embd, H = c.n_head, N = B * Tt;
  const float scale = 1.0f / std::sqrt((float)(C / H));
  float *kv = ctx->buf(L.s2s_kv), *t1 = ctx->buf(L.s2s_t1), *t2 = ctx->buf(L.s2s_t2);
  ops.matmul_forward(t1, y, w.cross_q_w, w.cross_q_b, N, C, C, 1, ws);
  ops.matmul_forward(kv, enc, w.cross_kv_w, w.cross_kv_b, B * Ts, C, 2 * C, 1, ws);
  ops.cross_attention_forward(t2, ctx->buf(L.s2s_att), t1, kv, src_mask, B, Tt, Ts, C, H, C, 2 * C, 0, scale);
  ops.matmul_forward(t1, t2, w.cross_o_w, w.cross_o_b, N, C, C, 1, ws);
  ops.residual_forward(t1, y, t1, (int64_t)N * C);
  ops.layernorm_forward(y, ctx->buf(L.s2s_mean), ctx->buf(L.s2s_rstd), t1, w.ln2_w, w.ln2_b, N, C, c.norm_eps);
}

// x [N, C] <- LN(x + fc2(act(fc1(x)))).
void mlp_block(Context* ctx, const Seq2SeqLayerWeights& w, float* x, int N) {
  const inq_model_config& c = ctx->model->cfg;
  const Ops& ops = *ctx->ops;
  const Layout& L = ctx->L;
  const Workspace ws = workspace(ctx);
  const int C = c.n_embd, I = c.n_inner;
  float *ff = ctx->buf(L.s2s_ff), *t2 = ctx->buf(L.s2s_t2);
  ops.matmul_forward(ff, x, w.fc1_w, w.fc1_b, N, C, I, 1, ws);
  ops.activation_forward(ff, ff, (int64_t)N * I, c.activation);
  ops.matmul_forward(t2, ff, w.fc2_w, w.fc2_b, N, I, C, 1, ws);
  ops.residual_forward(t2, x, t2, (int64_t)N * C);
  ops.layernorm_forward(x, ctx->buf(L.s2s_mean), ctx->buf(L.s2s_rstd), t2, w.ln3_w, w.ln3_b, N, C, c.norm_eps);
}

}  // namespace

void seq2seq_forward(Context* ctx, int batch, int src_len, int tgt_len, const int32_t* src_ids,
                     const float* src_embeds, const int32_t* src_mask, const int32_t* tgt_ids,
                     const float* tgt_embeds, const int32_t* tgt_mask, int logits_mode, float* logits, int flags) {
  const Bound bound(ctx->queue);
  const Model* m = ctx->model;
  const inq_model_config& c = m->cfg;
  INQ_CHECK(is_seq2seq(c), INQ_ERR_INVALID_ARGUMENT,
            "inq_seq2seq_forward needs an encoder-decoder model (arch %d is decoder-only: use inq_forward)", c.arch);
  INQ_CHECK(ctx->on_host(), INQ_ERR_UNSUPPORTED,
            "inq_seq2seq_forward runs on CPU contexts only for now (the CUDA ops exist; staging does not)");
  INQ_CHECK_POSITIVE(batch);
  INQ_CHECK_POSITIVE(src_len);
  INQ_CHECK_POSITIVE(tgt_len);
  INQ_CHECK(batch <= ctx->max_batch, INQ_ERR_CAPACITY, "batch %d exceeds the context's max_batch %d", batch,
            ctx->max_batch);
  INQ_CHECK(src_len <= ctx->max_seq && tgt_len <= ctx->max_seq, INQ_ERR_CAPACITY,
            "src_len %d / tgt_len %d exceed the context's max_seq %d", src_len, tgt_len, ctx->max_seq);
  INQ_CHECK((src_ids != nullptr) != (src_embeds != nullptr), src_ids ? INQ_ERR_INVALID_ARGUMENT : INQ_ERR_NULL_POINTER,
            "exactly one of 'src_ids' and 'src_embeds' must be given (got %s)", src_ids ? "both" : "neither");
  INQ_CHECK((tgt_ids != nullptr) != (tgt_embeds != nullptr), tgt_ids ? INQ_ERR_INVALID_ARGUMENT : INQ_ERR_NULL_POINTER,
            "exactly one of 'tgt_ids' and 'tgt_embeds' must be given (got %s)", tgt_ids ? "both" : "neither");
  INQ_CHECK(logits_mode == INQ_LOGITS_NONE || logits_mode == INQ_LOGITS_ALL, INQ_ERR_INVALID_ARGUMENT,
            "argument 'logits_mode' %d: inq_seq2seq_forward takes INQ_LOGITS_NONE or INQ_LOGITS_ALL (0/1)",
            logits_mode);
  INQ_CHECK(logits_mode == INQ_LOGITS_NONE || logits != nullptr, INQ_ERR_NULL_POINTER,
            "argument 'logits' is NULL but logits_mode is %d", logits_mode);
  INQ_CHECK(flags == 0, INQ_ERR_INVALID_ARGUMENT, "argument 'flags' 0x%x: inq_seq2seq_forward takes no flags yet",
            flags);
  const int64_t BS = (int64_t)batch * src_len, BT = (int64_t)batch * tgt_len;
  if (src_ids) check_ids(src_ids, BS, c.vocab_size, "src_ids");
  if (tgt_ids) check_ids(tgt_ids, BT, c.vocab_size, "tgt_ids");
  check_mask(src_mask, BS, "src_mask");
  check_mask(tgt_mask, BT, "tgt_mask");

  // The decoder-only state of this context no longer describes its buffers.
  ctx->kept = ctx->kept_attention = ctx->scorable = false;
  ctx->cache_len = ctx->cache_batch = 0;
  const Ops& ops = *ctx->ops;
  const Layout& L = ctx->L;
  const int C = c.n_embd, P = c.n_positions;
  if (!ctx->s2s_table_ready) {
    int32_t* pos = ctx->hbuf(L.s2s_pos);
    for (int p = 0; p < P; ++p) pos[p] = p;
    ctx->push_ints(L.s2s_pos, P);
    ops.sinusoidal_positions(ctx->buf(L.s2s_table), ctx->buf<int32_t>(L.s2s_pos), P, C);
    ctx->s2s_table_ready = true;
  }
  const int32_t* src_ids_d = stage(ctx, L.s2s_src_ids, src_ids, BS);
  const int32_t* src_mask_d = stage(ctx, L.s2s_src_mask, src_mask, BS);
  const int32_t* tgt_ids_d = stage(ctx, L.s2s_tgt_ids, tgt_ids, BT);
  const int32_t* tgt_mask_d = stage(ctx, L.s2s_tgt_mask, tgt_mask, BT);

  float* enc = ctx->buf(L.s2s_enc);
  embed(ctx, enc, batch, src_len, src_ids_d, src_embeds);
  for (const Seq2SeqLayerWeights& w : m->enc_layers) {
    self_attention_block(ctx, w, enc, batch, src_len, src_mask_d, 0);
    mlp_block(ctx, w, enc, (int)BS);
  }
  float* dec = ctx->buf(L.s2s_dec);
  embed(ctx, dec, batch, tgt_len, tgt_ids_d, tgt_embeds);
  for (const Seq2SeqLayerWeights& w : m->dec_layers) {
    self_attention_block(ctx, w, dec, batch, tgt_len, tgt_mask_d, 1);
    cross_attention_block(ctx, w, dec, enc, batch, tgt_len, src_len, src_mask_d);
    mlp_block(ctx, w, dec, (int)BT);
  }
  if (logits_mode == INQ_LOGITS_ALL)
    ops.matmul_forward(logits, dec, m->lm_head, m->final_logits_bias, (int)BT, C, c.vocab_size, 1, workspace(ctx));
}

}  // namespace inq
