#include "gpt2.h"

#include <cmath>
#include <cstring>

namespace inq {

namespace {

float attention_scale(const inq_model_config& c, int layer) {
  float s = 1.0f;
  if (c.scale_attn_weights) s = 1.0f / std::sqrt((float)(c.n_embd / c.n_head));
  if (c.scale_attn_by_inverse_layer_idx) s /= (float)(layer + 1);
  return s;
}

Workspace workspace(const Context* ctx) {
  return Workspace{ctx->buf(ctx->L.workspace), ctx->L.workspace_slots, ctx->ops->matmul_workspace_floats};
}

void check_ids(const int32_t* ids, int64_t n, int vocab, const char* what) {
  for (int64_t i = 0; i < n; ++i)
    INQ_CHECK(ids[i] >= 0 && ids[i] < vocab, INQ_ERR_INVALID_ARGUMENT,
              "%s[%lld] = %d is outside the vocabulary [0, %d)", what, (long long)i, ids[i], vocab);
}

// Per-layer views of the arena for a forward of `bt` = batch * seq tokens (compact, stride seq).
struct LayerBufs {
  float *x, *mid, *y, *ln1_mean, *ln1_rstd, *ln2_mean, *ln2_rstd, *qkv, *att, *fc_pre;
};

LayerBufs layer_bufs(const Context* ctx, int l, int64_t bt, int64_t att_elems) {
  const Layout& L = ctx->L;
  const int64_t C = ctx->model->cfg.n_embd, I = ctx->model->cfg.n_inner;
  const int ls = l % L.layer_slots;
  const int rx = L.res_slots > 2 ? l : l % 2, ry = L.res_slots > 2 ? l + 1 : (l + 1) % 2;
  LayerBufs b;
  b.x = ctx->buf(L.res) + rx * L.bt * C;
  b.y = ctx->buf(L.res) + ry * L.bt * C;
  b.mid = ctx->buf(L.res_mid) + ls * L.bt * C;
  b.ln1_mean = ctx->buf(L.ln1_mean) + ls * L.bt;
  b.ln1_rstd = ctx->buf(L.ln1_rstd) + ls * L.bt;
  b.ln2_mean = ctx->buf(L.ln2_mean) + ls * L.bt;
  b.ln2_rstd = ctx->buf(L.ln2_rstd) + ls * L.bt;
  b.qkv = ctx->buf(L.qkv) + ls * L.bt * 3 * C;
  b.att = ctx->buf(L.att) + (l % L.att_slots) * att_elems;
  b.fc_pre = ctx->buf(L.fc_pre) + ls * L.bt * I;
  (void)bt;
  return b;
}

int64_t att_slot_elems(const Context* ctx) {
  const int64_t H = ctx->model->cfg.n_head;
  return (int64_t)ctx->max_batch * H * ctx->max_seq * ctx->max_seq;
}

}  // namespace

void gpt2_forward(Context* ctx, int batch, int seq, const int32_t* ids, const float* embeds, const int32_t* mask,
                  int logits_mode, float* logits, int flags, bool fill_cache) {
  const Model* m = ctx->model;
  const inq_model_config& cfg = m->cfg;
  const Ops& ops = *ctx->ops;
  INQ_CHECK_POSITIVE(batch);
  INQ_CHECK_POSITIVE(seq);
  INQ_CHECK(batch <= ctx->max_batch, INQ_ERR_CAPACITY, "batch %d exceeds the context's max_batch %d", batch,
            ctx->max_batch);
  INQ_CHECK(seq <= ctx->max_seq, INQ_ERR_CAPACITY, "seq %d exceeds the context's max_seq %d", seq, ctx->max_seq);
  INQ_CHECK((ids != nullptr) != (embeds != nullptr), ids ? INQ_ERR_INVALID_ARGUMENT : INQ_ERR_NULL_POINTER,
            "exactly one of 'input_ids' and 'input_embeds' must be given (got %s)", ids ? "both" : "neither");
  INQ_CHECK(logits_mode >= INQ_LOGITS_NONE && logits_mode <= INQ_LOGITS_LAST, INQ_ERR_INVALID_ARGUMENT,
            "argument 'logits_mode' %d is not INQ_LOGITS_NONE/ALL/LAST (0/1/2)", logits_mode);
  INQ_CHECK(logits_mode == INQ_LOGITS_NONE || logits != nullptr, INQ_ERR_NULL_POINTER,
            "argument 'logits' is NULL but logits_mode is %d", logits_mode);
  INQ_CHECK((flags & ~(INQ_FWD_KEEP_FOR_BACKWARD | INQ_FWD_KEEP_ATTENTION)) == 0, INQ_ERR_INVALID_ARGUMENT,
            "argument 'flags' has unknown bits 0x%x", flags);
  INQ_CHECK(!(flags & INQ_FWD_KEEP_FOR_BACKWARD) || ctx->max_cot > 0, INQ_ERR_CAPACITY,
            "INQ_FWD_KEEP_FOR_BACKWARD needs a context created with max_cotangents > 0 (this one has 0)");
  INQ_CHECK(!(flags & INQ_FWD_KEEP_ATTENTION) || (ctx->flags & INQ_CTX_KEEP_ATTENTION), INQ_ERR_CAPACITY,
            "INQ_FWD_KEEP_ATTENTION needs a context created with INQ_CTX_KEEP_ATTENTION");

  const int64_t BT = (int64_t)batch * seq, C = cfg.n_embd, I = cfg.n_inner, V = cfg.vocab_size;
  if (ids) check_ids(ids, BT, cfg.vocab_size, "input_ids");
  // Position ids: cumsum(mask) - 1, clamped at 0 on (left) padding, as HF computes them from the mask.
  int32_t* pos = ctx->buf<int32_t>(ctx->L.pos);
  for (int b = 0; b < batch; ++b) {
    int count = 0;
    bool seen_real = false;
    for (int t = 0; t < seq; ++t) {
      const int64_t i = (int64_t)b * seq + t;
      if (mask) {
        INQ_CHECK(mask[i] == 0 || mask[i] == 1, INQ_ERR_INVALID_ARGUMENT, "attention_mask[%d, %d] = %d is not 0 or 1",
                  b, t, mask[i]);
        INQ_CHECK(mask[i] == 1 || !seen_real, INQ_ERR_INVALID_ARGUMENT,
                  "attention_mask row %d has padding at position %d after a real token (padding must be on the left)",
                  b, t);
        seen_real = seen_real || mask[i] == 1;
      }
      count += mask ? mask[i] : 1;
      pos[i] = count > 0 ? count - 1 : 0;
    }
    INQ_CHECK(count <= cfg.n_positions, INQ_ERR_CAPACITY, "row %d has %d real tokens, beyond n_positions %d", b, count,
              cfg.n_positions);
  }

  // From here on the context's previous forward and cache are overwritten.
  ctx->kept = ctx->kept_attention = false;
  ctx->cache_len = ctx->cache_batch = 0;
  ctx->fwd_batch = batch;
  ctx->fwd_seq = seq;
  const Workspace ws = workspace(ctx);
  const int64_t att_elems = att_slot_elems(ctx);
  float* ln_out = ctx->buf(ctx->L.ln_out);
  float* attn_y = ctx->buf(ctx->L.attn_y);
  float* fc_act = ctx->buf(ctx->L.fc_act);

  ops.embedding_forward(layer_bufs(ctx, 0, BT, att_elems).x, ids, embeds, pos, m->wte, m->wpe, (int)BT, (int)C,
                        (int)V, cfg.n_positions);
  for (int l = 0; l < cfg.n_layer; ++l) {
    const LayerWeights& w = m->layers[l];
    const LayerBufs a = layer_bufs(ctx, l, BT, att_elems);
    ops.layernorm_forward(ln_out, a.ln1_mean, a.ln1_rstd, a.x, w.ln1_w, w.ln1_b, (int)BT, (int)C, cfg.norm_eps);
    ops.matmul_forward(a.qkv, ln_out, w.attn_w, w.attn_b, (int)BT, (int)C, (int)(3 * C), 0, ws);
    ops.attention_forward(attn_y, a.att, a.qkv, mask, batch, seq, (int)C, cfg.n_head, attention_scale(cfg, l));
    if (fill_cache)
      ops.kv_cache_write(ctx->buf(ctx->L.kcache) + l * ctx->L.bt * C, ctx->buf(ctx->L.vcache) + l * ctx->L.bt * C,
                         a.qkv, batch, seq, ctx->max_seq, 0, (int)C);
    ops.matmul_forward(ln_out, attn_y, w.proj_w, w.proj_b, (int)BT, (int)C, (int)C, 0, ws);
    ops.residual_forward(a.mid, a.x, ln_out, BT * C);
    ops.layernorm_forward(ln_out, a.ln2_mean, a.ln2_rstd, a.mid, w.ln2_w, w.ln2_b, (int)BT, (int)C, cfg.norm_eps);
    ops.matmul_forward(a.fc_pre, ln_out, w.fc_w, w.fc_b, (int)BT, (int)C, (int)I, 0, ws);
    ops.activation_forward(fc_act, a.fc_pre, BT * I, cfg.activation);
    ops.matmul_forward(attn_y, fc_act, w.mlp_proj_w, w.mlp_proj_b, (int)BT, (int)I, (int)C, 0, ws);
    ops.residual_forward(a.y, a.mid, attn_y, BT * C);
  }
  const float* h_last = layer_bufs(ctx, cfg.n_layer - 1, BT, att_elems).y;
  float* lnf_mean = ctx->buf(ctx->L.lnf_mean);
  float* lnf_rstd = ctx->buf(ctx->L.lnf_rstd);
  ops.layernorm_forward(ln_out, lnf_mean, lnf_rstd, h_last, m->lnf_w, m->lnf_b, (int)BT, (int)C, cfg.norm_eps);
  if (logits_mode == INQ_LOGITS_ALL) {
    ops.matmul_forward(logits, ln_out, m->lm_head, nullptr, (int)BT, (int)C, (int)V, 1, ws);
  } else if (logits_mode == INQ_LOGITS_LAST) {
    for (int b = 0; b < batch; ++b)
      std::memcpy(attn_y + b * C, ln_out + ((int64_t)b * seq + seq - 1) * C, sizeof(float) * C);
    ops.matmul_forward(logits, attn_y, m->lm_head, nullptr, batch, (int)C, (int)V, 1, ws);
  }

  if (fill_cache) {
    int32_t* cmask = ctx->buf<int32_t>(ctx->L.cache_mask);
    int32_t* count = ctx->buf<int32_t>(ctx->L.cache_count);
    for (int b = 0; b < batch; ++b) {
      count[b] = 0;
      for (int t = 0; t < seq; ++t) {
        const int v = mask ? mask[(int64_t)b * seq + t] : 1;
        cmask[(int64_t)b * ctx->max_seq + t] = v;
        count[b] += v;
      }
    }
    ctx->cache_batch = batch;
    ctx->cache_len = seq;
  }
  ctx->kept = (flags & INQ_FWD_KEEP_FOR_BACKWARD) != 0;
  ctx->kept_attention = (flags & INQ_FWD_KEEP_ATTENTION) != 0;
}

void gpt2_get_attention(Context* ctx, int layer, float* out) {
  const inq_model_config& cfg = ctx->model->cfg;
  INQ_CHECK(ctx->kept_attention, INQ_ERR_STATE,
            "no forward kept with INQ_FWD_KEEP_ATTENTION (or a later forward/prefill replaced it)");
  INQ_CHECK(layer >= 0 && layer < cfg.n_layer, INQ_ERR_INVALID_ARGUMENT, "layer %d outside [0, %d)", layer,
            cfg.n_layer);
  const int64_t n = (int64_t)ctx->fwd_batch * cfg.n_head * ctx->fwd_seq * ctx->fwd_seq;
  std::memcpy(out, ctx->buf(ctx->L.att) + (layer % ctx->L.att_slots) * att_slot_elems(ctx), sizeof(float) * n);
}

void gpt2_backward_embeds(Context* ctx, int batch, int n_cot, const int32_t* positions, const float* dlogits,
                          float* d_embeds) {
  const Model* m = ctx->model;
  const inq_model_config& cfg = m->cfg;
  const Ops& ops = *ctx->ops;
  INQ_CHECK(ctx->kept, INQ_ERR_STATE,
            "no forward kept for backward (run inq_forward with INQ_FWD_KEEP_FOR_BACKWARD; a later forward, prefill "
            "or cache step replaces it)");
  INQ_CHECK(batch == ctx->fwd_batch, INQ_ERR_SHAPE, "batch %d differs from the kept forward's batch %d", batch,
            ctx->fwd_batch);
  INQ_CHECK_POSITIVE(n_cot);
  const int64_t R64 = (int64_t)batch * n_cot;
  INQ_CHECK(R64 <= ctx->max_cot, INQ_ERR_CAPACITY, "batch * n_cot = %d * %d = %lld exceeds the context's max_cotangents %d",
            batch, n_cot, (long long)R64, ctx->max_cot);
  const int R = (int)R64, T = ctx->fwd_seq;
  for (int r = 0; r < R; ++r)
    INQ_CHECK(positions[r] < T, INQ_ERR_INVALID_ARGUMENT, "positions[%d, %d] = %d is beyond the forward's seq %d",
              r / n_cot, r % n_cot, positions[r], T);
  const int64_t C = cfg.n_embd, I = cfg.n_inner, V = cfg.vocab_size;
  // Causal: a cotangent at position p has zero gradient beyond p, so it owns only gradient rows for positions 0..p
  // (none for a negative position), packed back to back: the GEMMs run over sum(p + 1) rows instead of R * T.
  int32_t* start = ctx->buf<int32_t>(ctx->L.row_start);
  int32_t* owner = ctx->buf<int32_t>(ctx->L.row_owner);
  start[0] = 0;
  for (int r = 0; r < R; ++r) {
    const int len = positions[r] >= 0 ? positions[r] + 1 : 0;
    for (int t = 0; t < len; ++t) owner[start[r] + t] = r;
    start[r + 1] = start[r] + len;
  }
  const int rows = start[R];
  if (rows > 0) {
    const Workspace ws = workspace(ctx);
    const int64_t att_elems = att_slot_elems(ctx);
    const RowMap map{R, rows, n_cot, T, start, owner};
    float* g = ctx->buf(ctx->L.g);
    float* c1 = ctx->buf(ctx->L.c1);
    float* c2 = ctx->buf(ctx->L.c2);
    float* big = ctx->buf(ctx->L.big);
    float* dlnf = ctx->buf(ctx->L.dlnf);
    ops.matmul_backward_input(dlnf, dlogits, m->lm_head, R, (int)C, (int)V, 1, ws);
    ops.cotangent_scatter(c1, dlnf, map, (int)C);
    ops.layernorm_backward(g, c1, layer_bufs(ctx, cfg.n_layer - 1, 0, att_elems).y, m->lnf_w,
                           ctx->buf(ctx->L.lnf_mean), ctx->buf(ctx->L.lnf_rstd), map, (int)C);
    for (int l = cfg.n_layer - 1; l >= 0; --l) {
      const LayerWeights& w = m->layers[l];
      const LayerBufs a = layer_bufs(ctx, l, 0, att_elems);
      ops.matmul_backward_input(big, g, w.mlp_proj_w, rows, (int)I, (int)C, 0, ws);
      ops.activation_backward(big, big, a.fc_pre, map, (int)I, cfg.activation);
      ops.matmul_backward_input(c1, big, w.fc_w, rows, (int)C, (int)I, 0, ws);
      ops.layernorm_backward(c2, c1, a.mid, w.ln2_w, a.ln2_mean, a.ln2_rstd, map, (int)C);
      ops.residual_forward(g, g, c2, (int64_t)rows * C);
      ops.matmul_backward_input(c1, g, w.proj_w, rows, (int)C, (int)C, 0, ws);
      ops.attention_backward(big, ctx->buf(ctx->L.att_scratch), c1, a.qkv, a.att, map, (int)C, cfg.n_head,
                             attention_scale(cfg, l));
      ops.matmul_backward_input(c1, big, w.attn_w, rows, (int)C, (int)(3 * C), 0, ws);
      ops.layernorm_backward(c2, c1, a.x, w.ln1_w, a.ln1_mean, a.ln1_rstd, map, (int)C);
      ops.residual_forward(g, g, c2, (int64_t)rows * C);
    }
  }
  // The position embedding is added to the token embedding: its gradient passes through unchanged.
  for (int r = 0; r < R; ++r) {
    const int len = start[r + 1] - start[r];
    float* out = d_embeds + (int64_t)r * T * C;
    if (len > 0) std::memcpy(out, ctx->buf(ctx->L.g) + (int64_t)start[r] * C, sizeof(float) * len * C);
    std::memset(out + (int64_t)len * C, 0, sizeof(float) * (size_t)(T - len) * C);
  }
}

void gpt2_cache_step(Context* ctx, int batch, const int32_t* next_ids, float* logits) {
  const Model* m = ctx->model;
  const inq_model_config& cfg = m->cfg;
  const Ops& ops = *ctx->ops;
  INQ_CHECK(ctx->cache_len > 0, INQ_ERR_STATE, "the KV cache is empty (call inq_cache_prefill first; a forward clears it)");
  INQ_CHECK(batch == ctx->cache_batch, INQ_ERR_SHAPE, "batch %d differs from the cached batch %d", batch,
            ctx->cache_batch);
  INQ_CHECK(ctx->cache_len < ctx->max_seq, INQ_ERR_CAPACITY, "the KV cache is full (%d positions = max_seq)",
            ctx->cache_len);
  check_ids(next_ids, batch, cfg.vocab_size, "next_ids");
  int32_t* count = ctx->buf<int32_t>(ctx->L.cache_count);
  int32_t* pos = ctx->buf<int32_t>(ctx->L.pos);
  for (int b = 0; b < batch; ++b) {
    INQ_CHECK(count[b] < cfg.n_positions, INQ_ERR_CAPACITY, "row %d would reach position %d, beyond n_positions %d", b,
              count[b], cfg.n_positions);
    pos[b] = count[b];
  }
  const int S = ctx->max_seq, len = ctx->cache_len;
  const int64_t C = cfg.n_embd, I = cfg.n_inner, V = cfg.vocab_size;
  int32_t* cmask = ctx->buf<int32_t>(ctx->L.cache_mask);
  for (int b = 0; b < batch; ++b) cmask[(int64_t)b * S + len] = 1;
  ctx->kept = ctx->kept_attention = false;  // the step reuses the forward's buffers
  const Workspace ws = workspace(ctx);
  const int64_t att_elems = att_slot_elems(ctx);
  float* ln_out = ctx->buf(ctx->L.ln_out);
  float* attn_y = ctx->buf(ctx->L.attn_y);
  float* fc_act = ctx->buf(ctx->L.fc_act);
  ops.embedding_forward(layer_bufs(ctx, 0, batch, att_elems).x, next_ids, nullptr, pos, m->wte, m->wpe, batch, (int)C,
                        (int)V, cfg.n_positions);
  for (int l = 0; l < cfg.n_layer; ++l) {
    const LayerWeights& w = m->layers[l];
    const LayerBufs a = layer_bufs(ctx, l, batch, att_elems);
    float* kc = ctx->buf(ctx->L.kcache) + l * ctx->L.bt * C;
    float* vc = ctx->buf(ctx->L.vcache) + l * ctx->L.bt * C;
    ops.layernorm_forward(ln_out, a.ln1_mean, a.ln1_rstd, a.x, w.ln1_w, w.ln1_b, batch, (int)C, cfg.norm_eps);
    ops.matmul_forward(a.qkv, ln_out, w.attn_w, w.attn_b, batch, (int)C, (int)(3 * C), 0, ws);
    ops.kv_cache_write(kc, vc, a.qkv, batch, 1, S, len, (int)C);
    ops.attention_decode(attn_y, ctx->buf(ctx->L.att_decode), a.qkv, kc, vc, cmask, batch, len + 1, S, (int)C,
                         cfg.n_head, attention_scale(cfg, l));
    ops.matmul_forward(ln_out, attn_y, w.proj_w, w.proj_b, batch, (int)C, (int)C, 0, ws);
    ops.residual_forward(a.mid, a.x, ln_out, batch * C);
    ops.layernorm_forward(ln_out, a.ln2_mean, a.ln2_rstd, a.mid, w.ln2_w, w.ln2_b, batch, (int)C, cfg.norm_eps);
    ops.matmul_forward(a.fc_pre, ln_out, w.fc_w, w.fc_b, batch, (int)C, (int)I, 0, ws);
    ops.activation_forward(fc_act, a.fc_pre, batch * I, cfg.activation);
    ops.matmul_forward(attn_y, fc_act, w.mlp_proj_w, w.mlp_proj_b, batch, (int)I, (int)C, 0, ws);
    ops.residual_forward(a.y, a.mid, attn_y, batch * C);
  }
  const float* h_last = layer_bufs(ctx, cfg.n_layer - 1, batch, att_elems).y;
  ops.layernorm_forward(ln_out, ctx->buf(ctx->L.lnf_mean), ctx->buf(ctx->L.lnf_rstd), h_last, m->lnf_w, m->lnf_b,
                        batch, (int)C, cfg.norm_eps);
  ops.matmul_forward(logits, ln_out, m->lm_head, nullptr, batch, (int)C, (int)V, 1, ws);
  for (int b = 0; b < batch; ++b) ++count[b];
  ctx->cache_len = len + 1;
}

}  // namespace inq
