// The Llama block (LlamaDecoderLayer; Mistral's and Qwen2's are the same graph): RMSNorm before attention and MLP,
// q | k | v as one GEMM over the packed Linear weights, rotary positions on q and k, grouped-query causal attention
// (the cache keeps the rotated keys, as transformers' does), o_proj, SwiGLU MLP (gate | up as one GEMM, down).
// rope_scaling (linear, llama3) reaches the rotary op as the model's inv_freq table (NULL: theta-based).
// Biases only where the config has them. Mistral's sliding window masks keys sliding_window or more positions back
// (by sequence index, in the full forward and the cached decode step alike); the backward reads the kept
// probabilities, which are 0 there, so it needs no window.
#include "decoder.h"

namespace inq {

namespace {

struct Shapes {
  int C, H, KVH, hd, I, QKV;
};

Shapes shapes(const inq_model_config& c) {
  return Shapes{c.n_embd, c.n_head, kv_heads(c), head_dim(c), c.n_inner, (int)qkv_width(c)};
}

// Both the full forward and the decode step; rows = batch * seq (decode: batch, seq = 1, len cached positions).
void run(Context* ctx, int l, int batch, int seq, const int32_t* mask, bool fill_cache, bool decode_step, int len) {
  const Model* m = ctx->model;
  const inq_model_config& cfg = m->cfg;
  const Ops& ops = *ctx->ops;
  const LayerWeights& w = m->layers[l];
  const LayerBufs a = layer_bufs(ctx, l);
  const Workspace ws = workspace(ctx);
  const Shapes s = shapes(cfg);
  const int rows = batch * seq;
  const int64_t N = rows;
  float* ln_out = ctx->buf(ctx->L.ln_out);
  float* attn_y = ctx->buf(ctx->L.attn_y);
  float* act = ctx->buf(ctx->L.fc_act);
  const int32_t* pos = ctx->buf<int32_t>(ctx->L.pos);
  const float scale = attention_scale(cfg, l);
  ops.rmsnorm_forward(ln_out, a.ln1_rstd, a.x, w.ln1_w, rows, s.C, cfg.norm_eps);
  ops.matmul_forward(a.qkv, ln_out, w.attn_w, w.attn_b, rows, s.C, s.QKV, 1, ws);
  ops.rope_forward(a.qkv, a.qkv, pos, m->rope_inv_freq, rows, s.QKV, s.H + s.KVH, s.hd, cfg.rope_theta);
  if (decode_step) {
    ops.kv_cache_write(kcache_of(ctx, l), vcache_of(ctx, l), a.qkv, batch, 1, ctx->max_seq, len, s.C, s.H, s.KVH);
    ops.attention_decode(attn_y, ctx->buf(ctx->L.att_decode), a.qkv, kcache_of(ctx, l), vcache_of(ctx, l),
                         ctx->buf<int32_t>(ctx->L.cache_mask), batch, len + 1, ctx->max_seq, s.C, s.H, s.KVH,
                         cfg.sliding_window, scale);
  } else {
    ops.attention_forward(attn_y, a.att, a.qkv, mask, batch, seq, s.C, s.H, s.KVH, cfg.sliding_window, scale);
    if (fill_cache)
      ops.kv_cache_write(kcache_of(ctx, l), vcache_of(ctx, l), a.qkv, batch, seq, ctx->max_seq, 0, s.C, s.H, s.KVH);
  }
  ops.matmul_forward(ln_out, attn_y, w.proj_w, w.proj_b, rows, s.C, s.C, 1, ws);
  ops.residual_forward(a.mid, a.x, ln_out, N * s.C);
  ops.rmsnorm_forward(ln_out, a.ln2_rstd, a.mid, w.ln2_w, rows, s.C, cfg.norm_eps);
  ops.matmul_forward(a.fc_pre, ln_out, w.fc_w, w.fc_b, rows, s.C, 2 * s.I, 1, ws);
  ops.gated_act_forward(act, a.fc_pre, N, s.I, INQ_ACT_SILU);
  ops.matmul_forward(attn_y, act, w.mlp_proj_w, w.mlp_proj_b, rows, s.I, s.C, 1, ws);
  ops.residual_forward(a.y, a.mid, attn_y, N * s.C);
}

void forward(Context* ctx, int l, int batch, int seq, const int32_t* mask, bool fill_cache) {
  run(ctx, l, batch, seq, mask, fill_cache, false, 0);
}

void decode(Context* ctx, int l, int batch, int len) { run(ctx, l, batch, 1, nullptr, false, true, len); }

void backward(Context* ctx, int l, const RowMap& map) {
  const Model* m = ctx->model;
  const inq_model_config& cfg = m->cfg;
  const Ops& ops = *ctx->ops;
  const LayerWeights& w = m->layers[l];
  const LayerBufs a = layer_bufs(ctx, l);
  const Workspace ws = workspace(ctx);
  const Shapes s = shapes(cfg);
  const int rows = map.rows;
  float* g = ctx->buf(ctx->L.g);
  float* c1 = ctx->buf(ctx->L.c1);
  float* c2 = ctx->buf(ctx->L.c2);
  float* big = ctx->buf(ctx->L.big);
  // d(silu(gate) * up) lives after the largest d(gate | up) block (see Layout::big).
  float* dact = big + (int64_t)ctx->max_cot * ctx->max_seq * 2 * s.I;
  ops.matmul_backward_input(dact, g, w.mlp_proj_w, rows, s.I, s.C, 1, ws);
  ops.gated_act_backward(big, dact, a.fc_pre, map, s.I, INQ_ACT_SILU);
  ops.matmul_backward_input(c1, big, w.fc_w, rows, s.C, 2 * s.I, 1, ws);
  ops.rmsnorm_backward(c2, c1, a.mid, w.ln2_w, a.ln2_rstd, map, s.C);
  ops.residual_forward(g, g, c2, (int64_t)rows * s.C);
  ops.matmul_backward_input(c1, g, w.proj_w, rows, s.C, s.C, 1, ws);
  ops.attention_backward(big, ctx->buf(ctx->L.att_scratch), c1, a.qkv, a.att, map, s.C, s.H, s.KVH,
                         attention_scale(cfg, l));
  ops.rope_backward(big, big, ctx->buf<int32_t>(ctx->L.pos), m->rope_inv_freq, map, s.QKV, s.H + s.KVH, s.hd,
                    cfg.rope_theta);
  ops.matmul_backward_input(c1, big, w.attn_w, rows, s.C, s.QKV, 1, ws);
  ops.rmsnorm_backward(c2, c1, a.x, w.ln1_w, a.ln1_rstd, map, s.C);
  ops.residual_forward(g, g, c2, (int64_t)rows * s.C);
}

}  // namespace

const BlockFns& llama_block() {
  static const BlockFns fns{forward, decode, backward};
  return fns;
}

}  // namespace inq
