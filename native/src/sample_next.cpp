// inq_sample_next (ABI 6): the next token of every row of the last forward, prefill or cache step, picked on the
// context's device. The kept final-norm (decoder-output) rows of the last positions are gathered, the LM head runs
// on them alone (the same GEMM as the call's own logits, so bitwise equal to them; T5's tied scale and MARIAN's
// final_logits_bias included), and sample_tokens picks the ids in the arena: only ids and log-probabilities come
// back to the host, step_rows rows at a time.
#include <cmath>
#include <cstring>

#include "decoder.h"
#include "sampling.h"
#include "seq2seq.h"

namespace inq {

SampleParams sample_params(const inq_sampling* a) {
  INQ_CHECK(a != nullptr, INQ_ERR_NULL_POINTER, "argument 'params' is NULL");
  INQ_CHECK(a->struct_size == (int32_t)sizeof(inq_sampling), INQ_ERR_INVALID_ARGUMENT,
            "inq_sampling.struct_size is %d, expected sizeof(inq_sampling) = %d", a->struct_size,
            (int)sizeof(inq_sampling));
  INQ_CHECK(a->do_sample == 0 || a->do_sample == 1, INQ_ERR_INVALID_ARGUMENT,
            "inq_sampling.do_sample must be 0 or 1 (got %d)", a->do_sample);
  INQ_CHECK(!a->do_sample || (std::isfinite(a->temperature) && a->temperature > 0.0f), INQ_ERR_INVALID_ARGUMENT,
            "inq_sampling.temperature must be finite and > 0 when sampling (got %g)", (double)a->temperature);
  INQ_CHECK(a->top_k >= 0, INQ_ERR_INVALID_ARGUMENT, "inq_sampling.top_k must be >= 0 (got %d; 0: no top-k cut)",
            a->top_k);
  INQ_CHECK(a->top_p > 0.0f && a->top_p <= 1.0f, INQ_ERR_INVALID_ARGUMENT,
            "inq_sampling.top_p must be in (0, 1] (got %g; 1: no top-p cut)", (double)a->top_p);
  return SampleParams{a->do_sample, a->temperature, a->top_k, a->top_p};
}

void check_sample_rows(const SampleParams& p, const double* uniforms, const int32_t* forced,
                       const int32_t* ban_offsets, const int32_t* ban_ids, int n, int V) {
  for (int r = 0; r < n; ++r) {
    const int f = forced ? forced[r] : -1;
    INQ_CHECK(f >= -1 && f < V, INQ_ERR_INVALID_ARGUMENT,
              "forced_ids[%d] = %d is outside the vocabulary [0, %d) (-1: not forced)", r, f, V);
    if (!p.do_sample || f >= 0) continue;
    INQ_CHECK(uniforms != nullptr, INQ_ERR_NULL_POINTER, "argument 'uniforms' is NULL but row %d is sampled", r);
    INQ_CHECK(uniforms[r] >= 0.0 && uniforms[r] < 1.0, INQ_ERR_INVALID_ARGUMENT,
              "uniforms[%d] = %g is outside [0, 1)", r, uniforms[r]);
  }
  if (!ban_offsets) return;
  INQ_CHECK(ban_offsets[0] == 0, INQ_ERR_INVALID_ARGUMENT, "banned_offsets[0] must be 0 (got %d)", ban_offsets[0]);
  for (int r = 0; r < n; ++r) {
    const int64_t count = (int64_t)ban_offsets[r + 1] - ban_offsets[r];
    INQ_CHECK(count >= 0 && count <= V, INQ_ERR_INVALID_ARGUMENT,
              "banned_offsets[%d] = %d and [%d] = %d: a row bans 0 .. vocab (%d) ids", r, ban_offsets[r], r + 1,
              ban_offsets[r + 1], V);
  }
  if (ban_offsets[n] > 0) INQ_CHECK(ban_ids != nullptr, INQ_ERR_NULL_POINTER,
                                    "argument 'banned_ids' is NULL but banned_offsets[%d] = %d", n, ban_offsets[n]);
  for (int32_t j = 0; j < ban_offsets[n]; ++j)
    INQ_CHECK(ban_ids[j] >= 0 && ban_ids[j] < V, INQ_ERR_INVALID_ARGUMENT,
              "banned_ids[%d] = %d is outside the vocabulary [0, %d)", j, ban_ids[j], V);
}

void sample_next(Context* ctx, const inq_sampling* params, const double* uniforms, const int32_t* forced,
                 const int32_t* ban_offsets, const int32_t* ban_ids, int32_t* out_ids, float* out_logprobs) {
  const Bound bound(ctx->queue);
  const SampleParams p = sample_params(params);
  const Context::SampleRows rows = ctx->sample_rows;
  INQ_CHECK(rows.batch > 0, INQ_ERR_STATE,
            "nothing to sample from: run inq_forward, inq_cache_prefill or inq_cache_step (encoder-decoder: "
            "inq_seq2seq_forward or inq_seq2seq_cache_step) first");
  INQ_CHECK_NOT_NULL(out_ids);
  const Model* m = ctx->model;
  const int V = m->cfg.vocab_size, N = rows.batch;
  const int64_t C = m->cfg.n_embd;
  check_sample_rows(p, uniforms, forced, ban_offsets, ban_ids, N, V);

  const Layout& L = ctx->L;
  const int S = L.step_rows;
  const bool host = ctx->on_host();
  const float* src = ctx->buf(rows.off);
  float* gather = ctx->buf(L.step_gather);
  float* logits = ctx->buf(L.step_logits);
  Queue& q = *ctx->queue;
  for (int r0 = 0; r0 < N; r0 += S) {
    const int n = N - r0 < S ? N - r0 : S;
    if (host) {
      for (int i = 0; i < n; ++i)
        std::memcpy(gather + i * C, src + ((r0 + i) * rows.stride + rows.last) * C, sizeof(float) * C);
    } else {
      int32_t* idx = ctx->hbuf(L.gather_idx);
      for (int i = 0; i < n; ++i) idx[i] = (int32_t)((r0 + i) * rows.stride + rows.last);
      ctx->push_ints(L.gather_idx, n);
      q.gather_rows(gather, src, ctx->buf<int32_t>(L.gather_idx), n, C);
    }
    if (is_seq2seq(m->cfg))
      seq2seq_logits_rows(ctx, gather, n, logits);
    else
      ctx->ops->matmul_forward(logits, gather, m->lm_head, nullptr, n, (int)C, V, 1, workspace(ctx));

    // The ops read the caller's host arrays on the CPU; on a device they read staged copies (ban offsets rebased to
    // the block, ban ids in the second half of step_logits: at most n * V of them).
    const double* u = uniforms ? uniforms + r0 : nullptr;
    const int32_t* f = forced ? forced + r0 : nullptr;
    const int32_t* off = ban_offsets ? ban_offsets + r0 : nullptr;
    const int32_t* bans = ban_ids;
    int32_t* ids = out_ids + r0;
    float* lps = out_logprobs ? out_logprobs + r0 : nullptr;
    if (!host) {
      if (u) {
        q.upload(ctx->buf(L.sample_u), u, sizeof(double) * n);
        u = ctx->buf<double>(L.sample_u);
      }
      if (f) {
        std::memcpy(ctx->hbuf(L.sample_forced), f, sizeof(int32_t) * n);
        ctx->push_ints(L.sample_forced, n);
        f = ctx->buf<int32_t>(L.sample_forced);
      }
      if (off) {
        const int32_t base = off[0];
        int32_t* h = ctx->hbuf(L.sample_ban_off);
        for (int i = 0; i <= n; ++i) h[i] = off[i] - base;
        ctx->push_ints(L.sample_ban_off, n + 1);
        int32_t* staged = reinterpret_cast<int32_t*>(logits + (int64_t)S * V);
        if (off[n] > base) q.upload(staged, ban_ids + base, sizeof(int32_t) * (size_t)(off[n] - base));
        off = ctx->buf<int32_t>(L.sample_ban_off);
        bans = staged;
      }
      ids = ctx->buf<int32_t>(L.sample_ids);
      lps = out_logprobs ? ctx->buf(L.step_scores) : nullptr;
    }
    ctx->ops->sample_tokens(ids, lps, logits, u, f, off, bans, n, V, p, workspace(ctx));
    if (!host) {
      q.download(out_ids + r0, ids, sizeof(int32_t) * n);
      if (out_logprobs) q.download(out_logprobs + r0, lps, sizeof(float) * n);
    }
  }
}

}  // namespace inq
