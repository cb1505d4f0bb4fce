#include "decoder.h"
#include "grad_accumulator.h"

#include <cmath>
#include <cstring>

#include "step_fn.h"

namespace inq {

float attention_scale(const inq_model_config& c, int layer) {
  float s = 1.0f;
  if (c.scale_attn_weights) s = 1.0f / std::sqrt((float)(c.n_embd / c.n_head));
  if (c.scale_attn_by_inverse_layer_idx) s /= (float)(layer + 1);
  return s;
}

Workspace workspace(const Context* ctx) {
  return Workspace{ctx->buf(ctx->L.workspace), ctx->L.workspace_slots, ctx->L.workspace_floats};
}

namespace {

// The residual stream at a point (0: input of block 0, p: output of block p - 1), compact [batch * seq, C].
float* point_buf(const Context* ctx, int p) {
  const Layout& L = ctx->L;
  return ctx->buf(L.res) + (L.res_slots > 2 ? p : p % 2) * L.bt * ctx->model->cfg.n_embd;
}

void check_point(const Context* ctx, int point, const char* what) {
  const int n_layer = ctx->model->cfg.n_layer;
  INQ_CHECK(point >= 0 && point <= n_layer, INQ_ERR_INVALID_ARGUMENT,
            "%s: point %d outside [0, n_layer = %d] (0: token embeddings, l + 1: output of block l)", what, point,
            n_layer);
  INQ_CHECK(point >= ctx->fwd_point, INQ_ERR_INVALID_ARGUMENT,
            "%s: point %d precedes point %d, where the kept forward started (only points >= %d exist)", what, point,
            ctx->fwd_point, ctx->fwd_point);
}

void check_ids(const int32_t* ids, int64_t n, int vocab, const char* what) {
  for (int64_t i = 0; i < n; ++i)
    INQ_CHECK(ids[i] >= 0 && ids[i] < vocab, INQ_ERR_INVALID_ARGUMENT,
              "%s[%lld] = %d is outside the vocabulary [0, %d)", what, (long long)i, ids[i], vocab);
}

int64_t att_slot_elems(const Context* ctx) {
  const int64_t H = ctx->model->cfg.n_head;
  return (int64_t)ctx->max_batch * H * ctx->max_seq * ctx->max_seq;
}

const BlockFns& block_of(const Context* ctx) {
  return ctx->model->cfg.arch == INQ_ARCH_LLAMA ? llama_block() : gpt2_block();
}

// The final norm (ln_f / model.norm) over N rows, and its input backward.
void final_norm_forward(Context* ctx, float* out, const float* x, int N) {
  const Model* m = ctx->model;
  const int C = m->cfg.n_embd;
  if (uses_rmsnorm(m->cfg))
    ctx->ops->rmsnorm_forward(out, ctx->buf(ctx->L.lnf_rstd), x, m->lnf_w, N, C, m->cfg.norm_eps);
  else
    ctx->ops->layernorm_forward(out, ctx->buf(ctx->L.lnf_mean), ctx->buf(ctx->L.lnf_rstd), x, m->lnf_w, m->lnf_b, N,
                                C, m->cfg.norm_eps);
}

void final_norm_backward(Context* ctx, float* dx, const float* dy, const float* x, const RowMap& map) {
  const Model* m = ctx->model;
  const int C = m->cfg.n_embd;
  if (uses_rmsnorm(m->cfg))
    ctx->ops->rmsnorm_backward(dx, dy, x, m->lnf_w, ctx->buf(ctx->L.lnf_rstd), map, C);
  else
    ctx->ops->layernorm_backward(dx, dy, x, m->lnf_w, ctx->buf(ctx->L.lnf_mean), ctx->buf(ctx->L.lnf_rstd), map, C);
}

// ---- moving data between the caller's host buffers and the arena. On the CPU the ops read and write the caller's
// buffers directly (no copy); on a device everything goes through the context's queue.

// The caller's ints as the ops see them: the pointer itself on the CPU, else a device copy in integer table `off`.
const int32_t* stage_ints(Context* ctx, size_t off, const int32_t* host, int64_t n) {
  if (!host || ctx->on_host()) return host;
  std::memcpy(ctx->hbuf(off), host, sizeof(int32_t) * n);
  ctx->push_ints(off, n);
  return ctx->buf<int32_t>(off);
}

// Logits [n, V] of final-norm rows `rows` (arena) into the caller's `out`: straight into it on the CPU, through
// step_logits in blocks of 2 * step_rows rows on a device.
void lm_head_to_host(Context* ctx, const float* rows, int n, float* out) {
  const Model* m = ctx->model;
  const int C = m->cfg.n_embd, V = m->cfg.vocab_size;
  const Workspace ws = workspace(ctx);
  if (ctx->on_host()) {
    ctx->ops->matmul_forward(out, rows, m->lm_head, nullptr, n, C, V, 1, ws);
    return;
  }
  const int block = 2 * ctx->L.step_rows;
  float* dev = ctx->buf(ctx->L.step_logits);
  for (int r0 = 0; r0 < n; r0 += block) {
    const int k = n - r0 < block ? n - r0 : block;
    ctx->ops->matmul_forward(dev, rows + (int64_t)r0 * C, m->lm_head, nullptr, k, C, V, 1, ws);
    ctx->queue->download(out + (int64_t)r0 * V, dev, sizeof(float) * (size_t)k * V);
  }
}

}  // namespace

LayerBufs layer_bufs(const Context* ctx, int l) {
  const Layout& L = ctx->L;
  const inq_model_config& cfg = ctx->model->cfg;
  const int64_t C = cfg.n_embd;
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
  b.qkv = ctx->buf(L.qkv) + ls * L.bt * qkv_width(cfg);
  b.att = ctx->buf(L.att) + (l % L.att_slots) * att_slot_elems(ctx);
  b.fc_pre = ctx->buf(L.fc_pre) + ls * L.bt * mlp_pre_width(cfg);
  return b;
}

float* kcache_of(const Context* ctx, int l) { return ctx->buf(ctx->L.kcache) + l * ctx->L.bt * kv_width(ctx->model->cfg); }
float* vcache_of(const Context* ctx, int l) { return ctx->buf(ctx->L.vcache) + l * ctx->L.bt * kv_width(ctx->model->cfg); }

void decoder_forward(Context* ctx, int point, int batch, int seq, const int32_t* ids, const float* embeds,
                  const int32_t* mask, int logits_mode, float* logits, int flags, bool fill_cache) {
  const Bound bound(ctx->queue);
  const Model* m = ctx->model;
  const inq_model_config& cfg = m->cfg;
  const Ops& ops = *ctx->ops;
  INQ_CHECK(!is_seq2seq(cfg), INQ_ERR_INVALID_ARGUMENT,
            "this is an encoder-decoder model: use inq_seq2seq_forward (the decoder-only forward needs a decoder-only "
            "arch)");
  INQ_CHECK(point >= 0 && point <= cfg.n_layer, INQ_ERR_INVALID_ARGUMENT,
            "point %d outside [0, n_layer = %d] (0: token embeddings, l + 1: output of block l)", point, cfg.n_layer);
  INQ_CHECK(point == 0 || (ids == nullptr && !fill_cache), INQ_ERR_INVALID_ARGUMENT,
            "a forward from point %d takes the hidden activation, not input ids", point);
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

  const int64_t BT = (int64_t)batch * seq, C = cfg.n_embd, V = cfg.vocab_size;
  if (ids) check_ids(ids, BT, cfg.vocab_size, "input_ids");
  // Position ids: cumsum(mask) - 1, clamped at 0 on (left) padding, as HF computes them from the mask.
  int32_t* pos = ctx->hbuf(ctx->L.pos);
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
  ctx->kept = ctx->kept_attention = ctx->scorable = false;
  ctx->sample_rows = {};
  ctx->cache_len = ctx->cache_batch = 0;
  ctx->fwd_batch = batch;
  ctx->fwd_seq = seq;
  ctx->fwd_point = point;
  float* ln_out = ctx->buf(ctx->L.ln_out);
  float* attn_y = ctx->buf(ctx->L.attn_y);
  Queue& q = *ctx->queue;
  ctx->push_ints(ctx->L.pos, BT);
  const int32_t* ids_d = stage_ints(ctx, ctx->L.ids, ids, BT);
  const int32_t* mask_d = stage_ints(ctx, ctx->L.mask, mask, BT);

  if (point == 0) {
    // Point 0 of a kept forward is the token embeddings (before any position row): keep them for inq_get_hidden.
    const bool keep = (flags & INQ_FWD_KEEP_FOR_BACKWARD) != 0;
    float* tok = keep ? ctx->buf(ctx->L.tok_emb) : nullptr;
    const float* emb = embeds;
    if (embeds && !ctx->on_host()) {  // the device copy: in tok when kept, else in place in the residual stream
      float* dst = keep ? tok : point_buf(ctx, 0);
      q.upload(dst, embeds, sizeof(float) * BT * C);
      emb = dst;
    }
    ops.embedding_forward(point_buf(ctx, 0), ids_d, emb, ctx->buf<int32_t>(ctx->L.pos), m->wte, m->wpe, (int)BT,
                          (int)C, (int)V, cfg.n_positions);
    if (keep) {
      if (ids)
        q.gather_rows(tok, m->wte, ids_d, BT, C);
      else if (ctx->on_host())
        std::memcpy(tok, embeds, sizeof(float) * BT * C);
    }
  } else {
    q.upload(point_buf(ctx, point), embeds, sizeof(float) * BT * C);
  }
  const BlockFns& block = block_of(ctx);
  for (int l = point; l < cfg.n_layer; ++l) block.forward(ctx, l, batch, seq, mask_d, fill_cache);
  final_norm_forward(ctx, ln_out, point_buf(ctx, cfg.n_layer), (int)BT);
  if (logits_mode == INQ_LOGITS_ALL) {
    lm_head_to_host(ctx, ln_out, (int)BT, logits);
  } else if (logits_mode == INQ_LOGITS_LAST) {
    q.copy_rows(attn_y, C, ln_out + (int64_t)(seq - 1) * C, (int64_t)seq * C, batch, C);
    lm_head_to_host(ctx, attn_y, batch, logits);
  }

  if (fill_cache) {
    int32_t* cmask = ctx->hbuf(ctx->L.cache_mask);
    int32_t* count = ctx->hbuf(ctx->L.cache_count);
    for (int b = 0; b < batch; ++b) {
      count[b] = 0;
      for (int t = 0; t < seq; ++t) {
        const int v = mask ? mask[(int64_t)b * seq + t] : 1;
        cmask[(int64_t)b * ctx->max_seq + t] = v;
        count[b] += v;
      }
    }
    ctx->push_ints(ctx->L.cache_mask, (int64_t)(batch - 1) * ctx->max_seq + seq);
    ctx->cache_batch = batch;
    ctx->cache_len = seq;
  }
  ctx->kept = (flags & INQ_FWD_KEEP_FOR_BACKWARD) != 0;
  ctx->kept_attention = (flags & INQ_FWD_KEEP_ATTENTION) != 0;
  ctx->scorable = true;  // ln_out holds the final-norm output of every position
  ctx->sample_rows = {batch, ctx->L.ln_out, seq, seq - 1};
}

void decoder_get_attention(Context* ctx, int layer, float* out) {
  const Bound bound(ctx->queue);
  const inq_model_config& cfg = ctx->model->cfg;
  INQ_CHECK(ctx->kept_attention, INQ_ERR_STATE,
            "no forward kept with INQ_FWD_KEEP_ATTENTION (or a later forward/prefill replaced it)");
  INQ_CHECK(layer >= 0 && layer < cfg.n_layer, INQ_ERR_INVALID_ARGUMENT, "layer %d outside [0, %d)", layer,
            cfg.n_layer);
  INQ_CHECK(layer >= ctx->fwd_point, INQ_ERR_INVALID_ARGUMENT,
            "layer %d precedes point %d, where the kept forward started: it did not run", layer, ctx->fwd_point);
  const int64_t n = (int64_t)ctx->fwd_batch * cfg.n_head * ctx->fwd_seq * ctx->fwd_seq;
  ctx->queue->download(out, ctx->buf(ctx->L.att) + (layer % ctx->L.att_slots) * att_slot_elems(ctx),
                       sizeof(float) * n);
}

void decoder_get_hidden(Context* ctx, int point, float* out) {
  const Bound bound(ctx->queue);
  INQ_CHECK(ctx->kept, INQ_ERR_STATE,
            "no forward kept for backward (run a forward with INQ_FWD_KEEP_FOR_BACKWARD; a later forward, prefill or "
            "cache step replaces it)");
  check_point(ctx, point, "inq_get_hidden");
  const int64_t n = (int64_t)ctx->fwd_batch * ctx->fwd_seq * ctx->model->cfg.n_embd;
  const float* src = point == 0 ? ctx->buf(ctx->L.tok_emb) : point_buf(ctx, point);
  ctx->queue->download(out, src, sizeof(float) * n);
}

namespace {

// Checks of inq_backward (shared with inq_backward_step); returns R = batch * n_cot.
int check_backward(const Context* ctx, int point, int batch, int n_cot, const int32_t* positions) {
  INQ_CHECK(ctx->kept, INQ_ERR_STATE,
            "no forward kept for backward (run inq_forward with INQ_FWD_KEEP_FOR_BACKWARD; a later forward, prefill "
            "or cache step replaces it)");
  check_point(ctx, point, "backward");
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
  return R;
}

// The backward of a checked call with dlogits already where the ops read them (the caller's buffer on the CPU, an
// arena buffer on a device). With acc (ABI 6) the gradient rows are added into the context's accumulator instead of
// being written to d_out (unused then).
void backward_core(Context* ctx, int point, int batch, int n_cot, const int32_t* positions, const float* dlogits,
                   float* d_out, const AccumulateTarget* acc = nullptr);

}  // namespace

void decoder_backward(Context* ctx, int point, int batch, int n_cot, const int32_t* positions, const float* dlogits,
                   float* d_out) {
  const Bound bound(ctx->queue);
  const int R = check_backward(ctx, point, batch, n_cot, positions);
  const float* dl = dlogits;
  if (!ctx->on_host()) {
    float* dev = ctx->buf(ctx->L.step_dlogits);
    ctx->queue->upload(dev, dlogits, sizeof(float) * (size_t)R * ctx->model->cfg.vocab_size);
    dl = dev;
  }
  backward_core(ctx, point, batch, n_cot, positions, dl, d_out);
}

namespace {

void backward_core(Context* ctx, int point, int batch, int n_cot, const int32_t* positions, const float* dlogits,
                   float* d_out, const AccumulateTarget* acc) {
  const Model* m = ctx->model;
  const inq_model_config& cfg = m->cfg;
  const Ops& ops = *ctx->ops;
  const int R = batch * n_cot, T = ctx->fwd_seq;
  const int64_t C = cfg.n_embd, V = cfg.vocab_size;
  // Causal: a cotangent at position p has zero gradient beyond p, so it owns only gradient rows for positions 0..p
  // (none for a negative position), packed back to back: the GEMMs run over sum(p + 1) rows instead of R * T.
  int32_t* start = ctx->hbuf(ctx->L.row_start);
  int32_t* owner = ctx->hbuf(ctx->L.row_owner);
  start[0] = 0;
  for (int r = 0; r < R; ++r) {
    const int len = positions[r] >= 0 ? positions[r] + 1 : 0;
    for (int t = 0; t < len; ++t) owner[start[r] + t] = r;
    start[r + 1] = start[r] + len;
  }
  const int rows = start[R];
  if (rows > 0) {
    const Workspace ws = workspace(ctx);
    ctx->push_ints(ctx->L.row_start, R + 1);
    ctx->push_ints(ctx->L.row_owner, rows);
    // The ops read the device copies of the tables.
    const RowMap map{R, rows, n_cot, T, ctx->buf<int32_t>(ctx->L.row_start), ctx->buf<int32_t>(ctx->L.row_owner)};
    float* c1 = ctx->buf(ctx->L.c1);
    float* dlnf = ctx->buf(ctx->L.dlnf);
    ops.matmul_backward_input(dlnf, dlogits, m->lm_head, R, (int)C, (int)V, 1, ws);
    ops.cotangent_scatter(c1, dlnf, map, (int)C);
    final_norm_backward(ctx, ctx->buf(ctx->L.g), c1, point_buf(ctx, cfg.n_layer), map);
    // After block l's backward, g is the gradient at point l.
    const BlockFns& block = block_of(ctx);
    for (int l = cfg.n_layer - 1; l >= point; --l) block.backward(ctx, l, map);
    // ABI 6: the packed rows go into the accumulator where they are (the position rows of point 0 pass through).
    if (acc)
      ops.grad_accumulate(acc->acc, ctx->buf(ctx->L.g), acc->weights, acc->mul, acc->steps, map, 0, acc->T_acc, acc->K,
                          (int)C);
  }
  if (acc) return;
  // At point 0 a position row (GPT-2) is added to the token embedding: its gradient passes through unchanged.
  if (ctx->on_host()) {
    for (int r = 0; r < R; ++r) {
      const int len = start[r + 1] - start[r];
      float* out = d_out + (int64_t)r * T * C;
      if (len > 0) std::memcpy(out, ctx->buf(ctx->L.g) + (int64_t)start[r] * C, sizeof(float) * len * C);
      std::memset(out + (int64_t)len * C, 0, sizeof(float) * (size_t)(T - len) * C);
    }
    return;
  }
  // Device: the packed rows come down into the front of d_out (rows <= R * T), then spread out in place, last
  // cotangent first (each block moves to an offset >= its own).
  if (rows > 0) ctx->queue->download(d_out, ctx->buf(ctx->L.g), sizeof(float) * (size_t)rows * C);
  for (int r = R - 1; r >= 0; --r) {
    const int len = start[r + 1] - start[r];
    float* out = d_out + (int64_t)r * T * C;
    if (len > 0) std::memmove(out, d_out + (int64_t)start[r] * C, sizeof(float) * len * C);
    std::memset(out + (int64_t)len * C, 0, sizeof(float) * (size_t)(T - len) * C);
  }
}

}  // namespace

namespace {

// Logits rows [n, V] = LM head of the final-norm output rows (b[i], t[i]) of the last forward, through step_gather
// rows g0 .. g0 + n - 1 (the same GEMM as the forward's: bitwise equal to its logits rows).
void gather_final_norm(Context* ctx, int g0, int n, const int32_t* b, const int32_t* t) {
  const int64_t C = ctx->model->cfg.n_embd;
  const float* ln_out = ctx->buf(ctx->L.ln_out);
  float* gather = ctx->buf(ctx->L.step_gather) + (int64_t)g0 * C;
  if (ctx->on_host()) {
    for (int i = 0; i < n; ++i)
      std::memcpy(gather + (int64_t)i * C, ln_out + ((int64_t)b[i] * ctx->fwd_seq + t[i]) * C, sizeof(float) * C);
    return;
  }
  int32_t* idx = ctx->hbuf(ctx->L.gather_idx) + g0;
  for (int i = 0; i < n; ++i) idx[i] = b[i] * ctx->fwd_seq + t[i];
  ctx->push_ints(ctx->L.gather_idx + sizeof(int32_t) * g0, n);
  ctx->queue->gather_rows(gather, ln_out, ctx->buf<int32_t>(ctx->L.gather_idx) + g0, n, C);
}

void lm_head_rows(Context* ctx, int n) {
  const Model* m = ctx->model;
  const int C = m->cfg.n_embd, V = m->cfg.vocab_size;
  ctx->ops->matmul_forward(ctx->buf(ctx->L.step_logits), ctx->buf(ctx->L.step_gather), m->lm_head, nullptr, n, C, V,
                           1, workspace(ctx));
}

void check_rows(const Context* ctx, const int32_t* b, const int32_t* t, int64_t n, const char* bname,
                const char* tname) {
  for (int64_t i = 0; i < n; ++i) {
    INQ_CHECK(b[i] >= 0 && b[i] < ctx->fwd_batch, INQ_ERR_INVALID_ARGUMENT,
              "%s[%lld] = %d is outside the last forward's batch [0, %d)", bname, (long long)i, b[i], ctx->fwd_batch);
    INQ_CHECK(t[i] >= 0 && t[i] < ctx->fwd_seq, INQ_ERR_INVALID_ARGUMENT,
              "%s[%lld] = %d is outside the last forward's positions [0, %d)", tname, (long long)i, t[i],
              ctx->fwd_seq);
  }
}

}  // namespace

void decoder_step_scores(Context* ctx, const inq_step_fn_args* args, int n_rows, const int32_t* batch_index,
                      const int32_t* positions, const int32_t* targets, const int32_t* contrast_targets,
                      const int32_t* contrast_batch_index, const int32_t* contrast_positions,
                      const float* contrast_logits, float* scores) {
  const Bound bound(ctx->queue);
  const StepFnParams prm = step_fn_params(args, false, true);
  INQ_CHECK(ctx->scorable, INQ_ERR_STATE,
            "no forward to score (run inq_forward, inq_forward_from_hidden or inq_cache_prefill; a cache step "
            "replaces it)");
  INQ_CHECK(n_rows >= 0, INQ_ERR_INVALID_ARGUMENT, "argument 'n_rows' must be >= 0 (got %d)", n_rows);
  if (n_rows == 0) return;
  INQ_CHECK_NOT_NULL(batch_index);
  INQ_CHECK_NOT_NULL(positions);
  INQ_CHECK_NOT_NULL(targets);
  INQ_CHECK_NOT_NULL(scores);
  INQ_CHECK((contrast_batch_index == nullptr) == (contrast_positions == nullptr), INQ_ERR_NULL_POINTER,
            "'contrast_batch_index' and 'contrast_positions' must be given together (got only %s)",
            contrast_batch_index ? "contrast_batch_index" : "contrast_positions");
  INQ_CHECK(!(contrast_positions && contrast_logits), INQ_ERR_INVALID_ARGUMENT,
            "give the contrast rows either as rows of the forward (contrast_positions) or as contrast_logits, not both");
  const int V = ctx->model->cfg.vocab_size;
  check_rows(ctx, batch_index, positions, n_rows, "batch_index", "positions");
  if (contrast_positions)
    check_rows(ctx, contrast_batch_index, contrast_positions, n_rows, "contrast_batch_index", "contrast_positions");
  check_step_ids(targets, n_rows, V, "targets");
  if (contrast_targets) check_step_ids(contrast_targets, n_rows, V, "contrast_targets");

  const int S = ctx->L.step_rows;
  float* logits = ctx->buf(ctx->L.step_logits);
  int32_t* tgt = ctx->hbuf(ctx->L.step_tgt);
  int32_t* ctgt = ctx->hbuf(ctx->L.step_ctgt);
  float* out = ctx->buf(ctx->L.step_scores);
  for (int r0 = 0; r0 < n_rows; r0 += S) {
    const int n = n_rows - r0 < S ? n_rows - r0 : S;
    gather_final_norm(ctx, 0, n, batch_index + r0, positions + r0);
    if (contrast_positions) gather_final_norm(ctx, n, n, contrast_batch_index + r0, contrast_positions + r0);
    lm_head_rows(ctx, contrast_positions ? 2 * n : n);
    const float* contrast = nullptr;  // shares the row's logits
    if (contrast_positions) {
      contrast = logits + (int64_t)n * V;
    } else if (contrast_logits) {
      ctx->queue->upload(logits + (int64_t)n * V, contrast_logits + (int64_t)r0 * V, sizeof(float) * n * V);
      contrast = logits + (int64_t)n * V;
    }
    std::memcpy(tgt, targets + r0, sizeof(int32_t) * n);
    ctx->push_ints(ctx->L.step_tgt, n);
    if (contrast_targets) {
      std::memcpy(ctgt, contrast_targets + r0, sizeof(int32_t) * n);
      ctx->push_ints(ctx->L.step_ctgt, n);
    }
    ctx->ops->step_fn_scores(out, logits, contrast, ctx->buf<int32_t>(ctx->L.step_tgt),
                             contrast_targets ? ctx->buf<int32_t>(ctx->L.step_ctgt) : nullptr, n, V, prm,
                             workspace(ctx));
    ctx->queue->download(scores + r0, out, sizeof(float) * n);
  }
}

void decoder_backward_step(Context* ctx, const inq_step_fn_args* args, int point, int batch, int n_cot,
                        const int32_t* positions, const int32_t* targets, const int32_t* contrast_targets,
                        const float* contrast_logits, float* d_out, float* scores, const AccumulateArgs* acc_args) {
  const Bound bound(ctx->queue);
  const StepFnParams prm = step_fn_params(args, true, contrast_logits == nullptr);
  INQ_CHECK(ctx->kept, INQ_ERR_STATE,
            "no forward kept for backward (run a forward with INQ_FWD_KEEP_FOR_BACKWARD; a later forward, prefill "
            "or cache step replaces it)");
  check_point(ctx, point, "inq_backward_step");
  INQ_CHECK(batch == ctx->fwd_batch, INQ_ERR_SHAPE, "batch %d differs from the kept forward's batch %d", batch,
            ctx->fwd_batch);
  INQ_CHECK_POSITIVE(n_cot);
  const int64_t R64 = (int64_t)batch * n_cot;
  INQ_CHECK(R64 <= ctx->max_cot, INQ_ERR_CAPACITY,
            "batch * n_cot = %d * %d = %lld exceeds the context's max_cotangents %d", batch, n_cot, (long long)R64,
            ctx->max_cot);
  const int R = (int)R64, T = ctx->fwd_seq, V = ctx->model->cfg.vocab_size;
  for (int r = 0; r < R; ++r)
    INQ_CHECK(positions[r] < T, INQ_ERR_INVALID_ARGUMENT, "positions[%d, %d] = %d is beyond the forward's seq %d",
              r / n_cot, r % n_cot, positions[r], T);
  check_step_ids(targets, R, V, "targets", positions);
  if (contrast_targets) check_step_ids(contrast_targets, R, V, "contrast_targets", positions);
  AccumulateTarget acc{};
  if (acc_args) acc = grad_accumulate_prepare(ctx, batch, n_cot, positions, *acc_args, T, "inq_backward_step_accumulate");

  float* dlogits = step_dlogits_rows(ctx, prm, R, n_cot, positions, targets, contrast_targets, contrast_logits, scores,
                                     [&](const int32_t* b, const int32_t* t) {
                                       gather_final_norm(ctx, 0, R, b, t);
                                       lm_head_rows(ctx, R);
                                     });
  backward_core(ctx, point, batch, n_cot, positions, dlogits, d_out, acc_args ? &acc : nullptr);
}

void decoder_cache_step(Context* ctx, int batch, const int32_t* next_ids, float* logits) {
  const Bound bound(ctx->queue);
  const Model* m = ctx->model;
  const inq_model_config& cfg = m->cfg;
  const Ops& ops = *ctx->ops;
  INQ_CHECK(ctx->cache_len > 0, INQ_ERR_STATE, "the KV cache is empty (call inq_cache_prefill first; a forward clears it)");
  INQ_CHECK(batch == ctx->cache_batch, INQ_ERR_SHAPE, "batch %d differs from the cached batch %d", batch,
            ctx->cache_batch);
  INQ_CHECK(ctx->cache_len < ctx->max_seq, INQ_ERR_CAPACITY, "the KV cache is full (%d positions = max_seq)",
            ctx->cache_len);
  check_ids(next_ids, batch, cfg.vocab_size, "next_ids");
  int32_t* count = ctx->hbuf(ctx->L.cache_count);
  int32_t* pos = ctx->hbuf(ctx->L.pos);
  for (int b = 0; b < batch; ++b) {
    INQ_CHECK(count[b] < cfg.n_positions, INQ_ERR_CAPACITY, "row %d would reach position %d, beyond n_positions %d", b,
              count[b], cfg.n_positions);
    pos[b] = count[b];
  }
  const int S = ctx->max_seq, len = ctx->cache_len;
  const int64_t C = cfg.n_embd, V = cfg.vocab_size;
  int32_t* cmask = ctx->hbuf(ctx->L.cache_mask);
  for (int b = 0; b < batch; ++b) cmask[(int64_t)b * S + len] = 1;
  ctx->push_ints(ctx->L.pos, batch);
  ctx->push_ints(ctx->L.cache_mask, (int64_t)(batch - 1) * S + len + 1);
  const int32_t* ids_d = stage_ints(ctx, ctx->L.ids, next_ids, batch);
  ctx->kept = ctx->kept_attention = ctx->scorable = false;  // the step reuses the forward's buffers
  ctx->sample_rows = {};
  float* ln_out = ctx->buf(ctx->L.ln_out);
  ops.embedding_forward(layer_bufs(ctx, 0).x, ids_d, nullptr, ctx->buf<int32_t>(ctx->L.pos), m->wte, m->wpe, batch,
                        (int)C, (int)V, cfg.n_positions);
  const BlockFns& block = block_of(ctx);
  for (int l = 0; l < cfg.n_layer; ++l) block.decode(ctx, l, batch, len);
  final_norm_forward(ctx, ln_out, point_buf(ctx, cfg.n_layer), batch);
  if (logits) lm_head_to_host(ctx, ln_out, batch, logits);
  for (int b = 0; b < batch; ++b) ++count[b];
  ctx->cache_len = len + 1;
  ctx->sample_rows = {batch, ctx->L.ln_out, 1, 0};  // ln_out rows 0 .. batch - 1: the new position
}

void decoder_embed_tokens(Context* ctx, const int32_t* ids, int n, float* out) {
  const Bound bound(ctx->queue);
  const int64_t C = ctx->model->cfg.n_embd;
  const float* wte = ctx->model->wte;
  if (ctx->on_host()) {
    for (int i = 0; i < n; ++i) std::memcpy(out + (int64_t)i * C, wte + (int64_t)ids[i] * C, sizeof(float) * C);
    return;
  }
  // Blocks of 2 * step_rows rows gathered into step_gather, then downloaded.
  const int block = 2 * ctx->L.step_rows;
  float* rows = ctx->buf(ctx->L.step_gather);
  for (int r0 = 0; r0 < n; r0 += block) {
    const int k = n - r0 < block ? n - r0 : block;
    std::memcpy(ctx->hbuf(ctx->L.gather_idx), ids + r0, sizeof(int32_t) * k);
    ctx->push_ints(ctx->L.gather_idx, k);
    ctx->queue->gather_rows(rows, wte, ctx->buf<int32_t>(ctx->L.gather_idx), k, C);
    ctx->queue->download(out + (int64_t)r0 * C, rows, sizeof(float) * (size_t)k * C);
  }
}

}  // namespace inq
