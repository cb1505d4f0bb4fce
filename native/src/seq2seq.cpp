// The encoder-decoder graph, written once against the ops table for the three layouts we load:
//   MARIAN  post-norm LayerNorm blocks: x <- LN(x + f(x)); sinusoidal positions; embeddings x embed_scale;
//           tied LM head + final_logits_bias.
//   M2M100  pre-norm LayerNorm blocks: x <- x + f(LN(x)), final encoder / decoder LayerNorm; fairseq sinusoidal
//           positions starting at 2; embeddings x embed_scale; tied LM head.
//   T5      pre-norm RMS blocks, final norms; relative position bias of block 0 added to every block's
//           self-attention scores (bidirectional buckets in the encoder, causal in the decoder), unscaled scores;
//           no biases; gated-gelu feed-forward; LM head untied, or tied with d_model^-0.5 on its input.
// Sublayers f: self-attention (encoder: bidirectional with the source mask; decoder: causal), cross-attention over
// the encoder output (decoder only), feed-forward. Every forward keeps each block's activations (the context holds
// one copy per block), so the backward of any forward (INQ_FWD_KEEP_FOR_BACKWARD) runs R = batch * n_cot
// cotangents, each over full-length rows: the decoder's causality makes rows after a cotangent's position zero, and
// every encoder row gets gradient through cross-attention. Both strategies of DESIGN §5 use it (Stepwise: one
// cotangent per prefix forward; Fused: all steps of one full forward).
#include "seq2seq.h"
#include "grad_accumulator.h"

#include <cmath>
#include <cstring>

#include "decoder.h"

namespace inq {

namespace {

// T5 with a tied LM head multiplies the decoder output by d_model^-0.5 first.
bool tied_t5(const inq_model_config& c) { return c.arch == INQ_ARCH_T5 && c.tie_word_embeddings; }
float t5_head_scale(const inq_model_config& c) { return 1.0f / std::sqrt((float)c.n_embd); }

struct Shape {
  int C, H, hd, A, I, FF, V;
  bool pre, rms, gated;
  float scale;  // multiplies attention scores
};

Shape shape_of(const inq_model_config& c) {
  Shape s;
  s.C = c.n_embd;
  s.H = c.n_head;
  s.hd = head_dim(c);
  s.A = (int)attn_width(c);
  s.I = c.n_inner;
  s.FF = (int)s2s_ff_width(c);
  s.V = c.vocab_size;
  s.pre = s2s_pre_norm(c);
  s.rms = s2s_rms(c);
  s.gated = c.gated_mlp != 0;
  s.scale = c.arch == INQ_ARCH_T5 ? 1.0f : 1.0f / std::sqrt((float)s.hd);
  return s;
}

// One block's kept buffers (see S2SLayout).
struct Block {
  float *x, *h1, *h2, *s1, *s2, *s3, *m1, *r1, *m2, *r2, *m3, *r3, *qkv, *att, *cq, *ckv, *catt, *ff, *cache;
};

Block block(const Context* ctx, int stack, int l) {
  const S2SLayout& S = ctx->L.s2s;
  char* base = ctx->arena + (stack == 0 ? S.enc_layers + l * S.enc_stride : S.dec_layers + l * S.dec_stride);
  auto f = [&](size_t off) { return reinterpret_cast<float*>(base + off); };
  return Block{f(S.x),  f(S.h1), f(S.h2), f(S.s1),  f(S.s2),  f(S.s3),   f(S.m1),
               f(S.r1), f(S.m2), f(S.r2), f(S.m3),  f(S.r3),  f(S.qkv),  f(S.att),
               f(S.cq), f(S.ckv), f(S.catt), f(S.ff), f(S.cache)};
}

size_t take(size_t& off, int64_t count, size_t elem) {
  const size_t o = off;
  off += align_up((size_t)count * elem, 64);
  return o;
}

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
const int32_t* stage_ints(Context* ctx, size_t off, const int32_t* host, int64_t n) {
  if (!host) return nullptr;
  std::memcpy(ctx->hbuf(off), host, sizeof(int32_t) * n);
  ctx->push_ints(off, n);
  return ctx->buf<int32_t>(off);
}

// The caller's floats as the ops see them: the pointer itself on the CPU, else uploaded into `dev`.
const float* stage_floats(Context* ctx, float* dev, const float* host, int64_t n) {
  if (!host || ctx->on_host()) return host;
  ctx->queue->upload(dev, host, sizeof(float) * (size_t)n);
  return dev;
}

void norm_fwd(Context* ctx, float* out, float* mean, float* rstd, const float* x, const float* w, const float* b,
              int N) {
  const inq_model_config& c = ctx->model->cfg;
  if (s2s_rms(c))
    ctx->ops->rmsnorm_forward(out, rstd, x, w, N, c.n_embd, c.norm_eps);
  else
    ctx->ops->layernorm_forward(out, mean, rstd, x, w, b, N, c.n_embd, c.norm_eps);
}

void norm_bwd(Context* ctx, float* dx, const float* dy, const float* x, const float* w, const float* mean,
              const float* rstd, const RowMap& map) {
  const inq_model_config& c = ctx->model->cfg;
  if (s2s_rms(c))
    ctx->ops->rmsnorm_backward(dx, dy, x, w, rstd, map, c.n_embd);
  else
    ctx->ops->layernorm_backward(dx, dy, x, w, mean, rstd, map, c.n_embd);
}

// Where a sublayer keeps what its backward needs: the norm's input (post-norm) and statistics.
struct NormSave {
  float *s, *mean, *rstd;
};

// One residual sublayer over N rows, f(in, proj) writing the sublayer's output rows into proj:
// pre-norm: out = x + f(norm(x)); post-norm: s = x + f(x), out = norm(s). out may alias x only for pre-norm.
template <class F>
void sublayer_fwd(Context* ctx, const Shape& sh, float* out, const float* x, NormSave save, const float* nw,
                  const float* nb, int N, F f) {
  const S2SLayout& S = ctx->L.s2s;
  float *t_norm = ctx->buf(S.t_norm), *t_proj = ctx->buf(S.t_proj);
  const int64_t n = (int64_t)N * sh.C;
  if (sh.pre) {
    norm_fwd(ctx, t_norm, save.mean, save.rstd, x, nw, nb, N);
    f(t_norm, t_proj);
    ctx->ops->residual_forward(out, x, t_proj, n);
  } else {
    f(x, t_proj);
    ctx->ops->residual_forward(save.s, x, t_proj, n);
    norm_fwd(ctx, out, save.mean, save.rstd, save.s, nw, nb, N);
  }
}

// The backward of sublayer_fwd in place on g [map.rows, C] (d out -> d x); fb(dy, dx) is f's input backward.
// norm_in is the norm's saved input: x (pre-norm) or s (post-norm).
template <class FB>
void sublayer_bwd(Context* ctx, const Shape& sh, float* g, const float* norm_in, const float* mean, const float* rstd,
                  const float* nw, const RowMap& map, FB fb) {
  const S2SLayout& S = ctx->L.s2s;
  float *d1 = ctx->buf(S.d1), *d2 = ctx->buf(S.d2);
  const int64_t n = (int64_t)map.rows * sh.C;
  if (sh.pre) {
    fb(g, d1);
    norm_bwd(ctx, d2, d1, norm_in, nw, mean, rstd, map);
    ctx->ops->residual_forward(g, g, d2, n);
  } else {
    norm_bwd(ctx, d2, g, norm_in, nw, mean, rstd, map);
    fb(d2, d1);
    ctx->ops->residual_forward(g, d2, d1, n);
  }
}

// The feed-forward sublayer's f over N rows: ff keeps the pre-activation.
void mlp_f(Context* ctx, const Shape& sh, const Seq2SeqLayerWeights& w, const float* in, float* proj, float* ff,
           int N) {
  const Ops& ops = *ctx->ops;
  const Workspace ws = workspace(ctx);
  float* act = ctx->buf(ctx->L.s2s.t_act);
  const int kind = ctx->model->cfg.activation;
  ops.matmul_forward(ff, in, w.fc1_w, w.fc1_b, N, sh.C, sh.FF, 1, ws);
  if (sh.gated)
    ops.gated_act_forward(act, ff, N, sh.I, kind);
  else
    ops.activation_forward(act, ff, (int64_t)N * sh.I, kind);
  ops.matmul_forward(proj, act, w.fc2_w, w.fc2_b, N, sh.I, sh.C, 1, ws);
}

// The embeddings of one side into out [B*T, C]: token rows x embed_scale (ids) or the caller's scaled embeddings,
// plus the sinusoidal rows of positions pos0 .. pos0+T-1 (+2 for M2M100; none for T5).
void embed(Context* ctx, float* out, int B, int T, int pos0, const int32_t* ids_d, const float* embeds_d) {
  const Model* m = ctx->model;
  const inq_model_config& c = m->cfg;
  const Ops& ops = *ctx->ops;
  const S2SLayout& S = ctx->L.s2s;
  const int C = c.n_embd;
  const int64_t BT = (int64_t)B * T;
  if (c.arch == INQ_ARCH_T5) {  // no positions, no scale
    if (ids_d)
      ops.embedding_forward(out, ids_d, nullptr, nullptr, m->wte, nullptr, (int)BT, C, c.vocab_size, c.n_positions);
    else
      ctx->queue->copy(out, embeds_d, sizeof(float) * (size_t)BT * C);
    return;
  }
  const int offset = c.arch == INQ_ARCH_M2M100 ? 2 : 0;
  int32_t* pos = ctx->hbuf(S.pos);
  for (int64_t i = 0; i < BT; ++i) pos[i] = (int32_t)(i % T) + pos0 + offset;
  ctx->push_ints(S.pos, BT);
  float* rows = ctx->buf(S.t_pos);
  ops.sinusoidal_positions(rows, ctx->buf<int32_t>(S.pos), (int)BT, C, c.arch == INQ_ARCH_M2M100 ? 1 : 0);
  if (ids_d) {
    float* tok = ctx->buf(S.t_in);
    ops.embedding_forward(tok, ids_d, nullptr, nullptr, m->wte, nullptr, (int)BT, C, c.vocab_size, c.n_positions);
    ops.scale_add_forward(out, tok, c.embed_scale, rows, BT * C);
  } else {
    ops.scale_add_forward(out, embeds_d, 1.0f, rows, BT * C);
  }
}

// LM head over n rows of decoder output into the caller's host logits [n, V]: T5's tied head scales its input by
// d_model^-0.5, MARIAN adds final_logits_bias (see seq2seq_logits_rows). Straight into `out` on the CPU, in blocks
// through step_logits on a device.
void lm_head(Context* ctx, const float* rows, int n, float* out) {
  const Model* m = ctx->model;
  const inq_model_config& c = m->cfg;
  const int C = c.n_embd, V = c.vocab_size;
  const Workspace ws = workspace(ctx);
  if (tied_t5(c)) {
    float* scaled = ctx->buf(ctx->L.s2s.t_norm);
    ctx->ops->scale_add_forward(scaled, rows, t5_head_scale(c) - 1.0f, rows, (int64_t)n * C);  // rows * s
    rows = scaled;
  }
  if (ctx->on_host()) {
    ctx->ops->matmul_forward(out, rows, m->lm_head, m->final_logits_bias, n, C, V, 1, ws);
    return;
  }
  const int blk = 2 * ctx->L.step_rows;
  float* dev = ctx->buf(ctx->L.step_logits);
  for (int r0 = 0; r0 < n; r0 += blk) {
    const int k = n - r0 < blk ? n - r0 : blk;
    ctx->ops->matmul_forward(dev, rows + (int64_t)r0 * C, m->lm_head, m->final_logits_bias, k, C, V, 1, ws);
    ctx->queue->download(out + (int64_t)r0 * V, dev, sizeof(float) * (size_t)k * V);
  }
}

}  // namespace

void seq2seq_logits_rows(Context* ctx, float* rows, int n, float* out) {
  const Model* m = ctx->model;
  const inq_model_config& c = m->cfg;
  if (tied_t5(c)) ctx->ops->scale_add_forward(rows, rows, t5_head_scale(c) - 1.0f, rows, (int64_t)n * c.n_embd);
  ctx->ops->matmul_forward(out, rows, m->lm_head, m->final_logits_bias, n, c.n_embd, c.vocab_size, 1, workspace(ctx));
}

namespace {

void rel_bias(Context* ctx, float* out, const float* table, int Tq, int Tk, int q_offset, int bidirectional) {
  const inq_model_config& c = ctx->model->cfg;
  ctx->ops->relative_position_bias(out, table, c.n_head, Tq, Tk, q_offset, bidirectional, c.rel_num_buckets,
                                   c.rel_max_distance);
}

// Full-length row map of R cotangents over T positions (cotangent r owns gradient rows r*T .. r*T+T-1).
RowMap full_map(Context* ctx, size_t start_off, size_t owner_off, int R, int n_cot, int T) {
  int32_t* start = ctx->hbuf(start_off);
  int32_t* owner = ctx->hbuf(owner_off);
  for (int r = 0; r <= R; ++r) start[r] = r * T;
  for (int64_t i = 0; i < (int64_t)R * T; ++i) owner[i] = (int32_t)(i / T);
  ctx->push_ints(start_off, R + 1);
  ctx->push_ints(owner_off, (int64_t)R * T);
  return RowMap{R, R * T, n_cot, T, ctx->buf<int32_t>(start_off), ctx->buf<int32_t>(owner_off)};
}

// The decoder's gradient rows packed per cotangent, as the decoder-only graph does: cotangent r owns its positions
// 0 .. positions[r] only (causality makes the later rows exactly zero); a dead cotangent (position < 0) owns one zero
// row. Alongside, the gather tables between this packing and the full [R, T] layout the attention ops work in:
// to_full[r * T + t] = packed row (or `rows`, the zero row after the packed ones), to_packed[n] = r * T + t.
struct PackedRows {
  RowMap map;
  const int32_t *to_full, *to_packed;
};

PackedRows packed_rows(Context* ctx, const int32_t* positions, int R, int n_cot, int T) {
  const S2SLayout& S = ctx->L.s2s;
  int32_t *start = ctx->hbuf(S.dec_start), *owner = ctx->hbuf(S.dec_owner);
  int32_t *to_full = ctx->hbuf(S.dec_full_idx), *to_packed = ctx->hbuf(S.dec_packed_idx);
  int n = 0;
  for (int r = 0; r < R; ++r) {
    start[r] = n;
    const int len = positions[r] >= 0 ? positions[r] + 1 : 1;
    for (int t = 0; t < len; ++t, ++n) {
      owner[n] = r;
      to_packed[n] = r * T + t;
    }
  }
  start[R] = n;
  for (int r = 0; r < R; ++r) {
    const int len = start[r + 1] - start[r];
    for (int t = 0; t < T; ++t) to_full[r * T + t] = t < len ? start[r] + t : n;
  }
  ctx->push_ints(S.dec_start, R + 1);
  ctx->push_ints(S.dec_owner, n);
  ctx->push_ints(S.dec_full_idx, (int64_t)R * T);
  ctx->push_ints(S.dec_packed_idx, n);
  return PackedRows{RowMap{R, n, n_cot, T, ctx->buf<int32_t>(S.dec_start), ctx->buf<int32_t>(S.dec_owner)},
                    ctx->buf<int32_t>(S.dec_full_idx), ctx->buf<int32_t>(S.dec_packed_idx)};
}

// packed [rows + 1, width] (the extra row is zeroed here) -> full [R * T, width].
void expand(Context* ctx, const PackedRows& p, float* full, float* packed, int width) {
  const int64_t rows = p.map.rows;
  ctx->queue->zero(packed + rows * width, sizeof(float) * width);
  ctx->queue->gather_rows(full, packed, p.to_full, (int64_t)p.map.R * p.map.T_saved, width);
}

// full [R * T, width] -> packed [rows, width].
void compact(Context* ctx, const PackedRows& p, float* packed, const float* full, int width) {
  ctx->queue->gather_rows(packed, full, p.to_packed, p.map.rows, width);
}

}  // namespace

void seq2seq_layout_floats(S2SLayout& S, const Model* m, int max_batch, int max_seq, int max_cot, size_t& off) {
  S = S2SLayout{};
  const inq_model_config& c = m->cfg;
  if (!is_seq2seq(c)) return;
  const Shape sh = shape_of(c);
  const int64_t B = max_batch, T = max_seq, R = max_cot, bt = B * T, rt = R * T, C = sh.C, A = sh.A, H = sh.H;
  // One block's buffers, laid out from 0; the stacks repeat them.
  size_t b = 0;
  S.x = take(b, bt * C, 4);
  S.h1 = take(b, bt * C, 4);
  S.h2 = take(b, bt * C, 4);
  const bool post = !sh.pre;
  S.s1 = take(b, post ? bt * C : 0, 4);
  S.s2 = take(b, post ? bt * C : 0, 4);
  S.s3 = take(b, post ? bt * C : 0, 4);
  S.m1 = take(b, bt, 4);
  S.r1 = take(b, bt, 4);
  S.m2 = take(b, bt, 4);
  S.r2 = take(b, bt, 4);
  S.m3 = take(b, bt, 4);
  S.r3 = take(b, bt, 4);
  S.qkv = take(b, bt * 3 * A, 4);
  S.att = take(b, B * H * T * T, 4);
  S.ff = take(b, bt * sh.FF, 4);
  const size_t enc_block = b;
  S.cq = take(b, bt * A, 4);
  S.ckv = take(b, bt * 2 * A, 4);
  S.catt = take(b, B * H * T * T, 4);
  S.cache = take(b, bt * 2 * A, 4);
  S.enc_stride = enc_block;
  S.dec_stride = b;
  S.enc_layers = take(off, (int64_t)(enc_block * c.n_encoder_layer), 1);
  S.dec_layers = take(off, (int64_t)(b * c.n_layer), 1);
  S.enc_res = take(off, bt * C, 4);
  S.enc_out = sh.pre ? take(off, bt * C, 4) : S.enc_res;
  S.enc_m = take(off, bt, 4);
  S.enc_r = take(off, bt, 4);
  S.dec_res = take(off, bt * C, 4);
  S.dec_out = sh.pre ? take(off, bt * C, 4) : S.dec_res;
  S.dec_m = take(off, bt, 4);
  S.dec_r = take(off, bt, 4);
  const bool t5 = c.arch == INQ_ARCH_T5;
  S.bias_enc = take(off, t5 ? H * T * T : 0, 4);
  S.bias_dec = take(off, t5 ? H * T * T : 0, 4);
  S.bias_step = take(off, t5 ? H * T : 0, 4);
  S.t_norm = take(off, bt * C, 4);
  S.t_attn = take(off, bt * A, 4);
  S.t_proj = take(off, bt * C, 4);
  S.t_act = take(off, bt * sh.I, 4);
  S.t_pos = take(off, bt * C, 4);
  S.t_in = take(off, bt * C, 4);
  S.t_qkv = take(off, B * 3 * A, 4);
  S.t_att = take(off, H * T, 4);
  S.t_x = take(off, B * C, 4);
  S.t_y = take(off, B * C, 4);
  S.t_s = take(off, B * C, 4);
  S.t_ff = take(off, B * sh.FF, 4);
  S.t_m = take(off, B, 4);
  S.t_r = take(off, B, 4);
  S.g_dec = take(off, (rt + 1) * C, 4);  // packed decoder rows + the zero row expansions read
  S.g_enc = take(off, rt * C, 4);
  S.g_src = take(off, rt * C, 4);
  S.d1 = take(off, rt * C, 4);
  S.d2 = take(off, rt * C, 4);
  S.dqkv = take(off, rt * 3 * A, 4);
  S.dattn = take(off, (rt + 1) * A, 4);
  S.dfull_a = take(off, rt * A, 4);
  S.dfull_qkv = take(off, rt * 3 * A, 4);
  S.dkv = take(off, rt * 2 * A, 4);
  S.dff = take(off, rt * sh.FF, 4);
  S.dact = take(off, rt * sh.I, 4);
  S.scratch = take(off, R * H * T, 4);
  S.dfinal = take(off, R * C, 4);
}

void seq2seq_layout_ints(S2SLayout& S, const Model* m, int max_batch, int max_seq, int max_cot, size_t& off) {
  if (!is_seq2seq(m->cfg)) return;
  const int64_t bt = (int64_t)max_batch * max_seq, R = max_cot, rt = R * max_seq;
  S.pos = take(off, bt, 4);
  S.src_ids = take(off, bt, 4);
  S.src_mask = take(off, bt, 4);
  S.tgt_ids = take(off, bt, 4);
  S.tgt_mask = take(off, bt, 4);
  S.enc_start = take(off, R + 1, 4);
  S.enc_owner = take(off, rt, 4);
  S.dec_start = take(off, R + 1, 4);
  S.dec_owner = take(off, rt, 4);
  S.dec_full_idx = take(off, rt, 4);
  S.dec_packed_idx = take(off, rt, 4);
  S.step_ids = take(off, max_batch, 4);
}

void seq2seq_forward(Context* ctx, int batch, int src_len, int tgt_len, const int32_t* src_ids,
                     const float* src_embeds, const int32_t* src_mask, const int32_t* tgt_ids,
                     const float* tgt_embeds, const int32_t* tgt_mask, int logits_mode, float* logits, int flags) {
  const Bound bound(ctx->queue);
  const Model* m = ctx->model;
  const inq_model_config& c = m->cfg;
  INQ_CHECK(is_seq2seq(c), INQ_ERR_INVALID_ARGUMENT,
            "inq_seq2seq_forward needs an encoder-decoder model (arch %d is decoder-only: use inq_forward)", c.arch);
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
  const int known = INQ_FWD_KEEP_FOR_BACKWARD | INQ_FWD_KEEP_ATTENTION | INQ_FWD_FILL_CACHE;
  INQ_CHECK((flags & ~known) == 0, INQ_ERR_INVALID_ARGUMENT,
            "argument 'flags' has unknown bits 0x%x (KEEP_FOR_BACKWARD 1, KEEP_ATTENTION 2, FILL_CACHE 4)", flags);
  INQ_CHECK(!(flags & INQ_FWD_KEEP_FOR_BACKWARD) || ctx->max_cot > 0, INQ_ERR_CAPACITY,
            "INQ_FWD_KEEP_FOR_BACKWARD needs a context created with max_cotangents > 0 (this one has 0)");
  const int64_t BS = (int64_t)batch * src_len, BT = (int64_t)batch * tgt_len;
  if (src_ids) check_ids(src_ids, BS, c.vocab_size, "src_ids");
  if (tgt_ids) check_ids(tgt_ids, BT, c.vocab_size, "tgt_ids");
  check_mask(src_mask, BS, "src_mask");
  check_mask(tgt_mask, BT, "tgt_mask");

  ctx->kept = ctx->kept_attention = ctx->scorable = false;
  ctx->sample_rows = {};
  ctx->cache_len = ctx->cache_batch = 0;
  ctx->fwd_batch = batch;
  ctx->fwd_seq = tgt_len;
  ctx->fwd_point = 0;
  ctx->s2s_src_len = src_len;
  ctx->s2s_src_masked = src_mask != nullptr;
  const Ops& ops = *ctx->ops;
  const S2SLayout& S = ctx->L.s2s;
  const Shape sh = shape_of(c);
  const Workspace ws = workspace(ctx);
  const int C = sh.C, A = sh.A, H = sh.H;
  const int32_t* src_ids_d = stage_ints(ctx, S.src_ids, src_ids, BS);
  const int32_t* src_mask_d = stage_ints(ctx, S.src_mask, src_mask, BS);
  const int32_t* tgt_ids_d = stage_ints(ctx, S.tgt_ids, tgt_ids, BT);
  const int32_t* tgt_mask_d = stage_ints(ctx, S.tgt_mask, tgt_mask, BT);
  const bool t5 = c.arch == INQ_ARCH_T5;
  const int n_enc = c.n_encoder_layer, n_dec = c.n_layer;

  // Encoder.
  const float* bias_enc = nullptr;
  if (t5) {
    rel_bias(ctx, ctx->buf(S.bias_enc), m->enc_rel_bias, src_len, src_len, 0, 1);
    bias_enc = ctx->buf(S.bias_enc);
  }
  embed(ctx, block(ctx, 0, 0).x, batch, src_len, 0, src_ids_d,
        stage_floats(ctx, ctx->buf(S.t_in), src_embeds, BS * C));
  for (int l = 0; l < n_enc; ++l) {
    const Block b = block(ctx, 0, l);
    const Seq2SeqLayerWeights& w = m->enc_layers[l];
    float* out = l + 1 < n_enc ? block(ctx, 0, l + 1).x : ctx->buf(S.enc_res);
    sublayer_fwd(ctx, sh, b.h1, b.x, {b.s1, b.m1, b.r1}, w.ln1_w, w.ln1_b, (int)BS, [&](const float* in, float* proj) {
      ops.matmul_forward(b.qkv, in, w.self_qkv_w, w.self_qkv_b, (int)BS, C, 3 * A, 1, ws);
      ops.cross_attention_forward(ctx->buf(S.t_attn), b.att, b.qkv, b.qkv + A, src_mask_d, batch, src_len, src_len, A,
                                  H, 3 * A, 3 * A, 0, sh.scale, bias_enc);
      ops.matmul_forward(proj, ctx->buf(S.t_attn), w.self_o_w, w.self_o_b, (int)BS, A, C, 1, ws);
    });
    sublayer_fwd(ctx, sh, out, b.h1, {b.s3, b.m3, b.r3}, w.ln3_w, w.ln3_b, (int)BS,
                 [&](const float* in, float* proj) { mlp_f(ctx, sh, w, in, proj, b.ff, (int)BS); });
  }
  float* enc_out = ctx->buf(S.enc_out);
  if (sh.pre) norm_fwd(ctx, enc_out, ctx->buf(S.enc_m), ctx->buf(S.enc_r), ctx->buf(S.enc_res), m->enc_norm_w,
                       m->enc_norm_b, (int)BS);

  // Decoder.
  const float* bias_dec = nullptr;
  if (t5) {
    rel_bias(ctx, ctx->buf(S.bias_dec), m->dec_rel_bias, tgt_len, tgt_len, 0, 0);
    bias_dec = ctx->buf(S.bias_dec);
  }
  embed(ctx, block(ctx, 1, 0).x, batch, tgt_len, 0, tgt_ids_d,
        stage_floats(ctx, ctx->buf(S.t_in), tgt_embeds, BT * C));
  for (int l = 0; l < n_dec; ++l) {
    const Block b = block(ctx, 1, l);
    const Seq2SeqLayerWeights& w = m->dec_layers[l];
    float* out = l + 1 < n_dec ? block(ctx, 1, l + 1).x : ctx->buf(S.dec_res);
    sublayer_fwd(ctx, sh, b.h1, b.x, {b.s1, b.m1, b.r1}, w.ln1_w, w.ln1_b, (int)BT, [&](const float* in, float* proj) {
      ops.matmul_forward(b.qkv, in, w.self_qkv_w, w.self_qkv_b, (int)BT, C, 3 * A, 1, ws);
      ops.cross_attention_forward(ctx->buf(S.t_attn), b.att, b.qkv, b.qkv + A, tgt_mask_d, batch, tgt_len, tgt_len, A,
                                  H, 3 * A, 3 * A, 1, sh.scale, bias_dec);
      ops.matmul_forward(proj, ctx->buf(S.t_attn), w.self_o_w, w.self_o_b, (int)BT, A, C, 1, ws);
    });
    sublayer_fwd(ctx, sh, b.h2, b.h1, {b.s2, b.m2, b.r2}, w.ln2_w, w.ln2_b, (int)BT, [&](const float* in, float* proj) {
      ops.matmul_forward(b.cq, in, w.cross_q_w, w.cross_q_b, (int)BT, C, A, 1, ws);
      ops.matmul_forward(b.ckv, enc_out, w.cross_kv_w, w.cross_kv_b, (int)BS, C, 2 * A, 1, ws);
      ops.cross_attention_forward(ctx->buf(S.t_attn), b.catt, b.cq, b.ckv, src_mask_d, batch, tgt_len, src_len, A, H,
                                  A, 2 * A, 0, sh.scale, nullptr);
      ops.matmul_forward(proj, ctx->buf(S.t_attn), w.cross_o_w, w.cross_o_b, (int)BT, A, C, 1, ws);
    });
    sublayer_fwd(ctx, sh, out, b.h2, {b.s3, b.m3, b.r3}, w.ln3_w, w.ln3_b, (int)BT,
                 [&](const float* in, float* proj) { mlp_f(ctx, sh, w, in, proj, b.ff, (int)BT); });
    if (flags & INQ_FWD_FILL_CACHE)  // k | v of every position into the cache rows b * max_seq + t
      for (int r = 0; r < batch; ++r)
        ctx->queue->copy_rows(b.cache + (int64_t)r * ctx->max_seq * 2 * A, 2 * A,
                              b.qkv + (int64_t)r * tgt_len * 3 * A + A, 3 * A, tgt_len, 2 * A);
  }
  float* dec_out = ctx->buf(S.dec_out);
  if (sh.pre) norm_fwd(ctx, dec_out, ctx->buf(S.dec_m), ctx->buf(S.dec_r), ctx->buf(S.dec_res), m->dec_norm_w,
                       m->dec_norm_b, (int)BT);
  if (logits_mode == INQ_LOGITS_ALL) lm_head(ctx, dec_out, (int)BT, logits);
  ctx->queue->finish();
  ctx->kept = (flags & INQ_FWD_KEEP_FOR_BACKWARD) != 0;
  ctx->kept_attention = ctx->scorable = true;
  ctx->sample_rows = {batch, S.dec_out, tgt_len, tgt_len - 1};
  if (flags & INQ_FWD_FILL_CACHE) {
    ctx->cache_batch = batch;
    ctx->cache_len = tgt_len;
  }
}

void seq2seq_check_backward(const Context* ctx, int batch, int n_cot, const int32_t* positions) {
  const inq_model_config& c = ctx->model->cfg;
  INQ_CHECK(is_seq2seq(c), INQ_ERR_INVALID_ARGUMENT,
            "inq_seq2seq_backward needs an encoder-decoder model (use inq_backward for decoder-only archs)");
  INQ_CHECK(ctx->kept, INQ_ERR_STATE,
            "no kept forward: call inq_seq2seq_forward with INQ_FWD_KEEP_FOR_BACKWARD first (a cache step or another "
            "forward discards it)");
  INQ_CHECK(batch == ctx->fwd_batch, INQ_ERR_INVALID_ARGUMENT, "batch %d differs from the kept forward's batch %d",
            batch, ctx->fwd_batch);
  INQ_CHECK_POSITIVE(n_cot);
  INQ_CHECK((int64_t)batch * n_cot <= ctx->max_cot, INQ_ERR_CAPACITY,
            "batch %d x n_cot %d cotangents exceed the context's max_cotangents %d", batch, n_cot, ctx->max_cot);
  for (int r = 0; r < batch * n_cot; ++r)
    INQ_CHECK(positions[r] < ctx->fwd_seq, INQ_ERR_INVALID_ARGUMENT, "positions[%d] = %d is not below tgt_len %d", r,
              positions[r], ctx->fwd_seq);
}

void seq2seq_backward(Context* ctx, int batch, int n_cot, const int32_t* positions, const float* dlogits,
                      float* d_src, float* d_tgt) {
  const Bound bound(ctx->queue);
  seq2seq_check_backward(ctx, batch, n_cot, positions);
  float* dl = ctx->buf(ctx->L.step_dlogits);
  ctx->queue->upload(dl, dlogits, sizeof(float) * (size_t)batch * n_cot * ctx->model->cfg.vocab_size);
  seq2seq_backward_core(ctx, batch, n_cot, positions, dl, d_src, d_tgt);
}

void seq2seq_backward_core(Context* ctx, int batch, int n_cot, const int32_t* positions, const float* dl,
                           float* d_src, float* d_tgt, const AccumulateTarget* acc) {
  const Model* m = ctx->model;
  const inq_model_config& c = m->cfg;
  const int Ts = ctx->s2s_src_len, Tt = ctx->fwd_seq, R = batch * n_cot;
  const Ops& ops = *ctx->ops;
  Queue& q = *ctx->queue;
  const S2SLayout& S = ctx->L.s2s;
  const Shape sh = shape_of(c);
  const Workspace ws = workspace(ctx);
  const int C = sh.C, A = sh.A, H = sh.H, V = sh.V;

  // d(LM head input) per cotangent, then into row (r, position) of the decoder gradient stream.
  float* dfinal = ctx->buf(S.dfinal);
  ops.matmul_backward_input(dfinal, dl, m->lm_head, R, C, V, 1, ws);
  if (tied_t5(c)) ops.scale_add_forward(dfinal, dfinal, t5_head_scale(c) - 1.0f, dfinal, (int64_t)R * C);
  for (int r = 0; r < R; ++r)
    if (positions[r] < 0) q.zero(dfinal + (int64_t)r * C, sizeof(float) * C);
  const PackedRows packed = packed_rows(ctx, positions, R, n_cot, Tt);
  const RowMap& dmap = packed.map;
  float* g = ctx->buf(S.g_dec);  // decoder gradient stream, packed rows
  ops.cotangent_scatter(g, dfinal, dmap, C);

  const RowMap emap = full_map(ctx, S.enc_start, S.enc_owner, R, n_cot, Ts);
  const int64_t rd = dmap.rows, rs = (int64_t)R * Ts;
  float *dqkv = ctx->buf(S.dqkv), *dattn = ctx->buf(S.dattn), *dkv = ctx->buf(S.dkv), *scr = ctx->buf(S.scratch);
  float *dfull_a = ctx->buf(S.dfull_a), *dfull_qkv = ctx->buf(S.dfull_qkv);
  float *dff = ctx->buf(S.dff), *dact = ctx->buf(S.dact);
  float* g_enc = ctx->buf(S.g_enc);
  float* g_src = ctx->buf(S.g_src);
  q.zero(g_enc, sizeof(float) * (size_t)rs * C);
  const int kind = c.activation;

  auto mlp_b = [&](const Seq2SeqLayerWeights& w, const Block& b, const RowMap& map) {
    return [&, map](const float* dy, float* dx) {
      const int rows = map.rows;
      ops.matmul_backward_input(dact, dy, w.fc2_w, rows, sh.I, C, 1, ws);
      if (sh.gated)
        ops.gated_act_backward(dff, dact, b.ff, map, sh.I, kind);
      else
        ops.activation_backward(dff, dact, b.ff, map, sh.I, kind);
      ops.matmul_backward_input(dx, dff, w.fc1_w, rows, C, sh.FF, 1, ws);
    };
  };
  auto self_b = [&](const Seq2SeqLayerWeights& w, const Block& b, const RowMap& map, int T) {
    return [&, map, T](const float* dy, float* dx) {
      ops.matmul_backward_input(dattn, dy, w.self_o_w, map.rows, A, C, 1, ws);
      ops.cross_attention_backward(dqkv, dqkv + A, scr, dattn, b.qkv, b.qkv + A, b.att, R, n_cot, T, T, A, H, 3 * A,
                                   3 * A, sh.scale);
      ops.matmul_backward_input(dx, dqkv, w.self_qkv_w, map.rows, C, 3 * A, 1, ws);
    };
  };

  // The decoder's self-attention backward works in the full layout: expand the packed rows, compact the result.
  auto dec_self_b = [&](const Seq2SeqLayerWeights& w, const Block& b) {
    return [&](const float* dy, float* dx) {
      ops.matmul_backward_input(dattn, dy, w.self_o_w, (int)rd, A, C, 1, ws);
      expand(ctx, packed, dfull_a, dattn, A);
      ops.cross_attention_backward(dfull_qkv, dfull_qkv + A, scr, dfull_a, b.qkv, b.qkv + A, b.att, R, n_cot, Tt, Tt,
                                   A, H, 3 * A, 3 * A, sh.scale);
      compact(ctx, packed, dqkv, dfull_qkv, 3 * A);
      ops.matmul_backward_input(dx, dqkv, w.self_qkv_w, (int)rd, C, 3 * A, 1, ws);
    };
  };

  if (sh.pre) {  // the final decoder norm: g is d(normed output) on entry
    norm_bwd(ctx, ctx->buf(S.d2), g, ctx->buf(S.dec_res), m->dec_norm_w, ctx->buf(S.dec_m), ctx->buf(S.dec_r), dmap);
    q.copy(g, ctx->buf(S.d2), sizeof(float) * (size_t)rd * C);
  }
  for (int l = c.n_layer - 1; l >= 0; --l) {
    const Block b = block(ctx, 1, l);
    const Seq2SeqLayerWeights& w = m->dec_layers[l];
    sublayer_bwd(ctx, sh, g, sh.pre ? b.h2 : b.s3, b.m3, b.r3, w.ln3_w, dmap, mlp_b(w, b, dmap));
    sublayer_bwd(ctx, sh, g, sh.pre ? b.h1 : b.s2, b.m2, b.r2, w.ln2_w, dmap, [&](const float* dy, float* dx) {
      ops.matmul_backward_input(dattn, dy, w.cross_o_w, (int)rd, A, C, 1, ws);
      expand(ctx, packed, dfull_a, dattn, A);
      ops.cross_attention_backward(dfull_qkv, dkv, scr, dfull_a, b.cq, b.ckv, b.catt, R, n_cot, Tt, Ts, A, H, A, 2 * A,
                                   sh.scale);
      compact(ctx, packed, dqkv, dfull_qkv, A);
      ops.matmul_backward_input(dx, dqkv, w.cross_q_w, (int)rd, C, A, 1, ws);
      ops.matmul_backward_input(g_src, dkv, w.cross_kv_w, (int)rs, C, 2 * A, 1, ws);
      ops.residual_forward(g_enc, g_enc, g_src, rs * C);
    });
    sublayer_bwd(ctx, sh, g, sh.pre ? b.x : b.s1, b.m1, b.r1, w.ln1_w, dmap, dec_self_b(w, b));
  }
  if (acc) {  // ABI 6: the packed target rows into the accumulator's rows src_len .. (source first, below)
    ops.grad_accumulate(acc->acc, g, acc->weights, acc->mul, acc->steps, dmap, Ts, acc->T_acc, acc->K, C);
    d_tgt = nullptr;
    d_src = g_enc;  // run the encoder backward; its result is accumulated instead of downloaded
  }
  if (d_tgt) {  // back to the caller's full [R, T, C] layout (zeros after each cotangent's position)
    float* full = ctx->buf(S.d1);
    expand(ctx, packed, full, g, C);
    q.download(d_tgt, full, sizeof(float) * (size_t)R * Tt * C);
  }

  if (d_src) {
    // The pre-norm final norm: g_enc is d(normed encoder output); its backward gives d(enc_res).
    if (sh.pre) {
      norm_bwd(ctx, g_src, g_enc, ctx->buf(S.enc_res), m->enc_norm_w, ctx->buf(S.enc_m), ctx->buf(S.enc_r), emap);
      q.copy(g_enc, g_src, sizeof(float) * (size_t)rs * C);
    }
    for (int l = c.n_encoder_layer - 1; l >= 0; --l) {
      const Block b = block(ctx, 0, l);
      const Seq2SeqLayerWeights& w = m->enc_layers[l];
      sublayer_bwd(ctx, sh, g_enc, sh.pre ? b.h1 : b.s3, b.m3, b.r3, w.ln3_w, emap, mlp_b(w, b, emap));
      sublayer_bwd(ctx, sh, g_enc, sh.pre ? b.x : b.s1, b.m1, b.r1, w.ln1_w, emap, self_b(w, b, emap, Ts));
    }
    if (acc)
      ops.grad_accumulate(acc->acc, g_enc, acc->weights, acc->mul, acc->steps, emap, 0, acc->T_acc, acc->K, C);
    else
      q.download(d_src, g_enc, sizeof(float) * (size_t)rs * C);
  }
  q.finish();
}

void seq2seq_get_attention(Context* ctx, int kind, int layer, float* out) {
  const Bound bound(ctx->queue);
  const inq_model_config& c = ctx->model->cfg;
  INQ_CHECK(is_seq2seq(c), INQ_ERR_INVALID_ARGUMENT,
            "inq_seq2seq_get_attention needs an encoder-decoder model (use inq_get_attention)");
  INQ_CHECK(kind >= INQ_ATT_ENCODER && kind <= INQ_ATT_CROSS, INQ_ERR_INVALID_ARGUMENT,
            "kind %d is not INQ_ATT_ENCODER / _DECODER / _CROSS (0/1/2)", kind);
  INQ_CHECK(ctx->kept_attention, INQ_ERR_STATE, "no seq2seq forward to read attention from (a cache step discards it)");
  const int n = kind == INQ_ATT_ENCODER ? c.n_encoder_layer : c.n_layer;
  INQ_CHECK(layer >= 0 && layer < n, INQ_ERR_INVALID_ARGUMENT, "layer %d outside [0, %d) of the %s stack", layer, n,
            kind == INQ_ATT_ENCODER ? "encoder" : "decoder");
  const int Ts = ctx->s2s_src_len, Tt = ctx->fwd_seq;
  const Block b = block(ctx, kind == INQ_ATT_ENCODER ? 0 : 1, layer);
  const int Tq = kind == INQ_ATT_ENCODER ? Ts : Tt, Tk = kind == INQ_ATT_DECODER ? Tt : Ts;
  const float* src = kind == INQ_ATT_CROSS ? b.catt : b.att;
  ctx->queue->download(out, src, sizeof(float) * (size_t)ctx->fwd_batch * c.n_head * Tq * Tk);
}

void seq2seq_embed_tokens(Context* ctx, const int32_t* ids, int n, float* out) {
  const Bound bound(ctx->queue);
  const Model* m = ctx->model;
  const inq_model_config& c = m->cfg;
  INQ_CHECK(is_seq2seq(c), INQ_ERR_INVALID_ARGUMENT,
            "inq_seq2seq_embed_tokens needs an encoder-decoder model (use inq_embed_tokens)");
  check_ids(ids, n, c.vocab_size, "ids");
  const int C = c.n_embd;
  const S2SLayout& S = ctx->L.s2s;
  const int64_t cap = (int64_t)ctx->max_batch * ctx->max_seq;
  for (int i0 = 0; i0 < n; i0 += (int)cap) {
    const int k = (int)(n - i0 < cap ? n - i0 : cap);
    const int32_t* ids_d = stage_ints(ctx, S.pos, ids + i0, k);
    ctx->ops->embedding_forward(ctx->buf(S.t_in), ids_d, nullptr, nullptr, m->wte, nullptr, k, C, c.vocab_size,
                                c.n_positions);
    float* o = out + (int64_t)i0 * C;
    ctx->queue->download(o, ctx->buf(S.t_in), sizeof(float) * (size_t)k * C);
    // Scaled on the host in float, exactly as embed(ids) * scale rounds (and as embed() computes it with ids).
    if (c.embed_scale != 1.0f)
      for (int64_t i = 0; i < (int64_t)k * C; ++i) o[i] = o[i] * c.embed_scale;
  }
}

void seq2seq_cache_step(Context* ctx, int batch, const int32_t* next_ids, float* logits) {
  const Bound bound(ctx->queue);
  const Model* m = ctx->model;
  const inq_model_config& c = m->cfg;
  INQ_CHECK(is_seq2seq(c), INQ_ERR_INVALID_ARGUMENT,
            "inq_seq2seq_cache_step needs an encoder-decoder model (use inq_cache_step)");
  INQ_CHECK(ctx->cache_len > 0, INQ_ERR_STATE,
            "the decoder cache is empty: run inq_seq2seq_forward with INQ_FWD_FILL_CACHE first");
  INQ_CHECK(batch == ctx->cache_batch, INQ_ERR_INVALID_ARGUMENT, "batch %d differs from the cached batch %d", batch,
            ctx->cache_batch);
  INQ_CHECK(ctx->cache_len < ctx->max_seq, INQ_ERR_CAPACITY, "the cache is full (%d positions = max_seq)",
            ctx->cache_len);
  check_ids(next_ids, batch, c.vocab_size, "next_ids");
  const Ops& ops = *ctx->ops;
  const S2SLayout& S = ctx->L.s2s;
  const Shape sh = shape_of(c);
  const Workspace ws = workspace(ctx);
  const int C = sh.C, A = sh.A, H = sh.H, t = ctx->cache_len, Ts = ctx->s2s_src_len, Smax = ctx->max_seq;
  // The block buffers stay, but the step's rows are neither kept nor scorable (dec_out is the forward's).
  ctx->kept = ctx->kept_attention = ctx->scorable = false;
  ctx->sample_rows = {};

  float *x = ctx->buf(S.t_x), *y = ctx->buf(S.t_y), *qkv = ctx->buf(S.t_qkv), *attn = ctx->buf(S.t_attn);
  const NormSave save{ctx->buf(S.t_s), ctx->buf(S.t_m), ctx->buf(S.t_r)};
  embed(ctx, x, batch, 1, t, stage_ints(ctx, S.step_ids, next_ids, batch), nullptr);
  const float* bias = nullptr;
  if (c.arch == INQ_ARCH_T5) {
    rel_bias(ctx, ctx->buf(S.bias_step), m->dec_rel_bias, 1, t + 1, t, 0);
    bias = ctx->buf(S.bias_step);
  }
  // The forward's staged source mask (NULL when it had none).
  const int32_t* src_mask_d = ctx->s2s_src_masked ? ctx->buf<int32_t>(S.src_mask) : nullptr;
  for (int l = 0; l < c.n_layer; ++l) {
    const Block b = block(ctx, 1, l);
    const Seq2SeqLayerWeights& w = m->dec_layers[l];
    sublayer_fwd(ctx, sh, y, x, save, w.ln1_w, w.ln1_b, batch, [&](const float* in, float* proj) {
      ops.matmul_forward(qkv, in, w.self_qkv_w, w.self_qkv_b, batch, C, 3 * A, 1, ws);
      for (int r = 0; r < batch; ++r) {
        float* cache = b.cache + (int64_t)r * Smax * 2 * A;
        ctx->queue->copy_rows(cache + (int64_t)t * 2 * A, 2 * A, qkv + (int64_t)r * 3 * A + A, 3 * A, 1, 2 * A);
        ops.cross_attention_forward(attn + (int64_t)r * A, ctx->buf(S.t_att), qkv + (int64_t)r * 3 * A, cache,
                                    nullptr, 1, 1, t + 1, A, H, 3 * A, 2 * A, 0, sh.scale, bias);
      }
      ops.matmul_forward(proj, attn, w.self_o_w, w.self_o_b, batch, A, C, 1, ws);
    });
    sublayer_fwd(ctx, sh, x, y, save, w.ln2_w, w.ln2_b, batch, [&](const float* in, float* proj) {
      ops.matmul_forward(qkv, in, w.cross_q_w, w.cross_q_b, batch, C, A, 1, ws);
      ops.cross_attention_forward(attn, ctx->buf(S.t_att), qkv, b.ckv, src_mask_d,
                                  batch, 1, Ts, A, H, A, 2 * A, 0, sh.scale, nullptr);
      ops.matmul_forward(proj, attn, w.cross_o_w, w.cross_o_b, batch, A, C, 1, ws);
    });
    sublayer_fwd(ctx, sh, y, x, save, w.ln3_w, w.ln3_b, batch,
                 [&](const float* in, float* proj) { mlp_f(ctx, sh, w, in, proj, ctx->buf(S.t_ff), batch); });
    ctx->queue->copy(x, y, sizeof(float) * (size_t)batch * C);
  }
  float* out = x;
  if (sh.pre) {
    norm_fwd(ctx, y, save.mean, save.rstd, x, m->dec_norm_w, m->dec_norm_b, batch);
    out = y;
  }
  if (logits) lm_head(ctx, out, batch, logits);
  ctx->queue->finish();
  ctx->cache_len = t + 1;
  ctx->sample_rows = {batch, sh.pre ? S.t_y : S.t_x, 1, 0};  // the step's decoder output (`out`)
}

}  // namespace inq
