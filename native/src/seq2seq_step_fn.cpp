// Inseq's step functions on the encoder-decoder graph's logits rows, as decoder.cpp does for decoder-only models:
// the decoder-output rows of the requested (row, position) pairs are gathered, the LM head runs on them alone
// (T5's tied scale and MARIAN's final_logits_bias included), the step-function ops score them or produce dlogits,
// and the backward runs from there — logits and dlogits never leave the arena.
#include <cstring>

#include "decoder.h"
#include "grad_accumulator.h"
#include "seq2seq.h"
#include "step_fn.h"

namespace inq {

namespace {

// Decoder-output rows (b[i], t[i]) of the last forward into step_gather rows g0 .. g0 + n - 1.
void gather_dec_out(Context* ctx, int g0, int n, const int32_t* b, const int32_t* t) {
  const int64_t C = ctx->model->cfg.n_embd;
  const float* dec_out = ctx->buf(ctx->L.s2s.dec_out);
  float* gather = ctx->buf(ctx->L.step_gather) + (int64_t)g0 * C;
  int32_t* idx = ctx->hbuf(ctx->L.gather_idx) + g0;
  for (int i = 0; i < n; ++i) idx[i] = b[i] * ctx->fwd_seq + t[i];
  ctx->push_ints(ctx->L.gather_idx + sizeof(int32_t) * g0, n);
  ctx->queue->gather_rows(gather, dec_out, ctx->buf<int32_t>(ctx->L.gather_idx) + g0, n, C);
}

void require_seq2seq(const Context* ctx, const char* what) {
  INQ_CHECK(is_seq2seq(ctx->model->cfg), INQ_ERR_INVALID_ARGUMENT,
            "%s needs an encoder-decoder model (decoder-only archs: inq_step_scores / inq_backward_step)", what);
}

}  // namespace

void seq2seq_step_scores(Context* ctx, const inq_step_fn_args* args, int n_rows, const int32_t* batch_index,
                         const int32_t* positions, const int32_t* targets, const int32_t* contrast_targets,
                         const float* contrast_logits, float* scores) {
  const Bound bound(ctx->queue);
  require_seq2seq(ctx, "inq_seq2seq_step_scores");
  const StepFnParams prm = step_fn_params(args, false, true);
  INQ_CHECK(ctx->scorable, INQ_ERR_STATE,
            "no seq2seq forward to score (run inq_seq2seq_forward; a cache step replaces it)");
  INQ_CHECK(n_rows >= 0, INQ_ERR_INVALID_ARGUMENT, "argument 'n_rows' must be >= 0 (got %d)", n_rows);
  if (n_rows == 0) return;
  INQ_CHECK_NOT_NULL(batch_index);
  INQ_CHECK_NOT_NULL(positions);
  INQ_CHECK_NOT_NULL(targets);
  INQ_CHECK_NOT_NULL(scores);
  const int V = ctx->model->cfg.vocab_size;
  for (int i = 0; i < n_rows; ++i) {
    INQ_CHECK(batch_index[i] >= 0 && batch_index[i] < ctx->fwd_batch, INQ_ERR_INVALID_ARGUMENT,
              "batch_index[%d] = %d is outside the last forward's batch [0, %d)", i, batch_index[i], ctx->fwd_batch);
    INQ_CHECK(positions[i] >= 0 && positions[i] < ctx->fwd_seq, INQ_ERR_INVALID_ARGUMENT,
              "positions[%d] = %d is outside the last forward's target positions [0, %d)", i, positions[i],
              ctx->fwd_seq);
  }
  check_step_ids(targets, n_rows, V, "targets");
  if (contrast_targets) check_step_ids(contrast_targets, n_rows, V, "contrast_targets");

  const int S = ctx->L.step_rows;
  float* logits = ctx->buf(ctx->L.step_logits);
  float* out = ctx->buf(ctx->L.step_scores);
  for (int r0 = 0; r0 < n_rows; r0 += S) {
    const int n = n_rows - r0 < S ? n_rows - r0 : S;
    gather_dec_out(ctx, 0, n, batch_index + r0, positions + r0);
    seq2seq_logits_rows(ctx, ctx->buf(ctx->L.step_gather), n, logits);
    const float* contrast = nullptr;  // shares the row's logits
    if (contrast_logits) {
      ctx->queue->upload(logits + (int64_t)n * V, contrast_logits + (int64_t)r0 * V, sizeof(float) * n * V);
      contrast = logits + (int64_t)n * V;
    }
    std::memcpy(ctx->hbuf(ctx->L.step_tgt), targets + r0, sizeof(int32_t) * n);
    ctx->push_ints(ctx->L.step_tgt, n);
    if (contrast_targets) {
      std::memcpy(ctx->hbuf(ctx->L.step_ctgt), contrast_targets + r0, sizeof(int32_t) * n);
      ctx->push_ints(ctx->L.step_ctgt, n);
    }
    ctx->ops->step_fn_scores(out, logits, contrast, ctx->buf<int32_t>(ctx->L.step_tgt),
                             contrast_targets ? ctx->buf<int32_t>(ctx->L.step_ctgt) : nullptr, n, V, prm,
                             workspace(ctx));
    ctx->queue->download(scores + r0, out, sizeof(float) * n);
  }
}

void seq2seq_backward_step(Context* ctx, const inq_step_fn_args* args, int batch, int n_cot, const int32_t* positions,
                           const int32_t* targets, const int32_t* contrast_targets, const float* contrast_logits,
                           float* d_src, float* d_tgt, float* scores, const AccumulateArgs* acc_args) {
  const Bound bound(ctx->queue);
  require_seq2seq(ctx, "inq_seq2seq_backward_step");
  const StepFnParams prm = step_fn_params(args, true, contrast_logits == nullptr);
  seq2seq_check_backward(ctx, batch, n_cot, positions);
  const int R = batch * n_cot, V = ctx->model->cfg.vocab_size;
  check_step_ids(targets, R, V, "targets", positions);
  if (contrast_targets) check_step_ids(contrast_targets, R, V, "contrast_targets", positions);
  AccumulateTarget acc{};
  if (acc_args)
    acc = grad_accumulate_prepare(ctx, batch, n_cot, positions, *acc_args, ctx->s2s_src_len + ctx->fwd_seq,
                                  "inq_seq2seq_backward_step_accumulate");

  float* dlogits = step_dlogits_rows(ctx, prm, R, n_cot, positions, targets, contrast_targets, contrast_logits, scores,
                                     [&](const int32_t* b, const int32_t* t) {
                                       gather_dec_out(ctx, 0, R, b, t);
                                       seq2seq_logits_rows(ctx, ctx->buf(ctx->L.step_gather), R,
                                                           ctx->buf(ctx->L.step_logits));
                                     });
  seq2seq_backward_core(ctx, batch, n_cot, positions, dlogits, d_src, d_tgt, acc_args ? &acc : nullptr);
}

}  // namespace inq
