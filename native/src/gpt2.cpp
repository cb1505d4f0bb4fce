// The GPT-2 block: pre-norm LayerNorm, fused c_attn Conv1D ([in, out] weights), multi-head causal attention,
// GELU (or the configured activation) MLP, every projection with a bias.
#include "decoder.h"

namespace inq {

namespace {

void forward(Context* ctx, int l, int batch, int seq, const int32_t* mask, bool fill_cache) {
  const Model* m = ctx->model;
  const inq_model_config& cfg = m->cfg;
  const Ops& ops = *ctx->ops;
  const LayerWeights& w = m->layers[l];
  const LayerBufs a = layer_bufs(ctx, l);
  const Workspace ws = workspace(ctx);
  const int64_t BT = (int64_t)batch * seq, C = cfg.n_embd, I = cfg.n_inner;
  float* ln_out = ctx->buf(ctx->L.ln_out);
  float* attn_y = ctx->buf(ctx->L.attn_y);
  float* fc_act = ctx->buf(ctx->L.fc_act);
  ops.layernorm_forward(ln_out, a.ln1_mean, a.ln1_rstd, a.x, w.ln1_w, w.ln1_b, (int)BT, (int)C, cfg.norm_eps);
  ops.matmul_forward(a.qkv, ln_out, w.attn_w, w.attn_b, (int)BT, (int)C, (int)(3 * C), 0, ws);
  ops.attention_forward(attn_y, a.att, a.qkv, mask, batch, seq, (int)C, cfg.n_head, cfg.n_head, 0,
                        attention_scale(cfg, l));
  if (fill_cache)
    ops.kv_cache_write(kcache_of(ctx, l), vcache_of(ctx, l), a.qkv, batch, seq, ctx->max_seq, 0, (int)C, cfg.n_head,
                       cfg.n_head);
  ops.matmul_forward(ln_out, attn_y, w.proj_w, w.proj_b, (int)BT, (int)C, (int)C, 0, ws);
  ops.residual_forward(a.mid, a.x, ln_out, BT * C);
  ops.layernorm_forward(ln_out, a.ln2_mean, a.ln2_rstd, a.mid, w.ln2_w, w.ln2_b, (int)BT, (int)C, cfg.norm_eps);
  ops.matmul_forward(a.fc_pre, ln_out, w.fc_w, w.fc_b, (int)BT, (int)C, (int)I, 0, ws);
  ops.activation_forward(fc_act, a.fc_pre, BT * I, cfg.activation);
  ops.matmul_forward(attn_y, fc_act, w.mlp_proj_w, w.mlp_proj_b, (int)BT, (int)I, (int)C, 0, ws);
  ops.residual_forward(a.y, a.mid, attn_y, BT * C);
}

void decode(Context* ctx, int l, int batch, int len) {
  const Model* m = ctx->model;
  const inq_model_config& cfg = m->cfg;
  const Ops& ops = *ctx->ops;
  const LayerWeights& w = m->layers[l];
  const LayerBufs a = layer_bufs(ctx, l);
  const Workspace ws = workspace(ctx);
  const int64_t C = cfg.n_embd, I = cfg.n_inner;
  const int S = ctx->max_seq;
  float* ln_out = ctx->buf(ctx->L.ln_out);
  float* attn_y = ctx->buf(ctx->L.attn_y);
  float* fc_act = ctx->buf(ctx->L.fc_act);
  float* kc = kcache_of(ctx, l);
  float* vc = vcache_of(ctx, l);
  ops.layernorm_forward(ln_out, a.ln1_mean, a.ln1_rstd, a.x, w.ln1_w, w.ln1_b, batch, (int)C, cfg.norm_eps);
  ops.matmul_forward(a.qkv, ln_out, w.attn_w, w.attn_b, batch, (int)C, (int)(3 * C), 0, ws);
  ops.kv_cache_write(kc, vc, a.qkv, batch, 1, S, len, (int)C, cfg.n_head, cfg.n_head);
  ops.attention_decode(attn_y, ctx->buf(ctx->L.att_decode), a.qkv, kc, vc, ctx->buf<int32_t>(ctx->L.cache_mask),
                       batch, len + 1, S, (int)C, cfg.n_head, cfg.n_head, 0, attention_scale(cfg, l));
  ops.matmul_forward(ln_out, attn_y, w.proj_w, w.proj_b, batch, (int)C, (int)C, 0, ws);
  ops.residual_forward(a.mid, a.x, ln_out, batch * C);
  ops.layernorm_forward(ln_out, a.ln2_mean, a.ln2_rstd, a.mid, w.ln2_w, w.ln2_b, batch, (int)C, cfg.norm_eps);
  ops.matmul_forward(a.fc_pre, ln_out, w.fc_w, w.fc_b, batch, (int)C, (int)I, 0, ws);
  ops.activation_forward(fc_act, a.fc_pre, batch * I, cfg.activation);
  ops.matmul_forward(attn_y, fc_act, w.mlp_proj_w, w.mlp_proj_b, batch, (int)I, (int)C, 0, ws);
  ops.residual_forward(a.y, a.mid, attn_y, batch * C);
}

void backward(Context* ctx, int l, const RowMap& map) {
  const Model* m = ctx->model;
  const inq_model_config& cfg = m->cfg;
  const Ops& ops = *ctx->ops;
  const LayerWeights& w = m->layers[l];
  const LayerBufs a = layer_bufs(ctx, l);
  const Workspace ws = workspace(ctx);
  const int64_t C = cfg.n_embd, I = cfg.n_inner;
  const int rows = map.rows;
  float* g = ctx->buf(ctx->L.g);
  float* c1 = ctx->buf(ctx->L.c1);
  float* c2 = ctx->buf(ctx->L.c2);
  float* big = ctx->buf(ctx->L.big);
  ops.matmul_backward_input(big, g, w.mlp_proj_w, rows, (int)I, (int)C, 0, ws);
  ops.activation_backward(big, big, a.fc_pre, map, (int)I, cfg.activation);
  ops.matmul_backward_input(c1, big, w.fc_w, rows, (int)C, (int)I, 0, ws);
  ops.layernorm_backward(c2, c1, a.mid, w.ln2_w, a.ln2_mean, a.ln2_rstd, map, (int)C);
  ops.residual_forward(g, g, c2, (int64_t)rows * C);
  ops.matmul_backward_input(c1, g, w.proj_w, rows, (int)C, (int)C, 0, ws);
  ops.attention_backward(big, ctx->buf(ctx->L.att_scratch), c1, a.qkv, a.att, map, (int)C, cfg.n_head, cfg.n_head,
                         attention_scale(cfg, l));
  ops.matmul_backward_input(c1, big, w.attn_w, rows, (int)C, (int)(3 * C), 0, ws);
  ops.layernorm_backward(c2, c1, a.x, w.ln1_w, a.ln1_mean, a.ln1_rstd, map, (int)C);
  ops.residual_forward(g, g, c2, (int64_t)rows * C);
}

}  // namespace

const BlockFns& gpt2_block() {
  static const BlockFns fns{forward, decode, backward};
  return fns;
}

}  // namespace inq
