#include "step_fn.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "decoder.h"

namespace inq {

const char* step_fn_name(int fn) {
  static const char* const names[] = {"logit",         "probability",      "entropy",
                                      "crossentropy",  "perplexity",       "contrast_logits",
                                      "contrast_prob", "contrast_logits_diff", "contrast_prob_diff",
                                      "pcxmi",         "kl_divergence",    "in_context_pvi",
                                      "top_p_size"};
  return fn >= 0 && fn <= INQ_STEP_TOP_P_SIZE ? names[fn] : "unknown";
}

StepFnParams step_fn_params(const inq_step_fn_args* args, bool for_gradient, bool shares) {
  INQ_CHECK(args != nullptr, INQ_ERR_NULL_POINTER, "argument 'args' is NULL");
  INQ_CHECK(args->struct_size == (int32_t)sizeof(inq_step_fn_args), INQ_ERR_INVALID_ARGUMENT,
            "inq_step_fn_args.struct_size is %d, expected sizeof(inq_step_fn_args) = %d", args->struct_size,
            (int)sizeof(inq_step_fn_args));
  INQ_CHECK(args->fn >= INQ_STEP_LOGIT && args->fn <= INQ_STEP_TOP_P_SIZE, INQ_ERR_INVALID_ARGUMENT,
            "inq_step_fn_args.fn %d is not an inq_step_fn (0 .. %d)", args->fn, (int)INQ_STEP_TOP_P_SIZE);
  INQ_CHECK(args->logprob == 0 || args->logprob == 1, INQ_ERR_INVALID_ARGUMENT,
            "inq_step_fn_args.logprob must be 0 or 1 (got %d)", args->logprob);
  INQ_CHECK(!std::isnan(args->top_p), INQ_ERR_INVALID_ARGUMENT, "inq_step_fn_args.top_p is NaN");
  if (for_gradient) {
    INQ_CHECK(args->fn != INQ_STEP_TOP_P_SIZE, INQ_ERR_INVALID_ARGUMENT,
              "step function top_p_size is a count and has no gradient: it can be a step score, not the attributed "
              "function");
    INQ_CHECK(!(args->fn == INQ_STEP_KL_DIVERGENCE && shares), INQ_ERR_INVALID_ARGUMENT,
              "step function kl_divergence has no gradient when the contrast shares the row's logits (it is "
              "identically 0): give the contrast distribution's logits (contrast_force_inputs)");
  }
  return StepFnParams{args->fn, args->logprob, args->top_k, args->top_p, args->min_tokens_to_keep};
}

float* step_dlogits_rows(Context* ctx, const StepFnParams& prm, int R, int n_cot, const int32_t* positions,
                         const int32_t* targets, const int32_t* contrast_targets, const float* contrast_logits,
                         float* scores, const std::function<void(const int32_t* b, const int32_t* t)>& logits_rows) {
  const int V = ctx->model->cfg.vocab_size;
  int32_t* tgt = ctx->hbuf(ctx->L.step_tgt);
  int32_t* ctgt = ctx->hbuf(ctx->L.step_ctgt);
  std::vector<int32_t> rb(R), rt(R);
  for (int r = 0; r < R; ++r) {
    const bool live = positions[r] >= 0;
    rb[r] = r / n_cot;
    rt[r] = live ? positions[r] : 0;
    tgt[r] = live ? targets[r] : 0;
    ctgt[r] = live ? (contrast_targets ? contrast_targets[r] : targets[r]) : 0;
  }
  ctx->push_ints(ctx->L.step_tgt, R);
  ctx->push_ints(ctx->L.step_ctgt, R);
  logits_rows(rb.data(), rt.data());
  float* logits = ctx->buf(ctx->L.step_logits);
  const float* contrast = nullptr;
  if (contrast_logits) {
    float* c = logits + (int64_t)ctx->L.step_rows * V;
    ctx->queue->upload(c, contrast_logits, sizeof(float) * R * V);
    contrast = c;
  }
  float* dlogits = ctx->buf(ctx->L.step_dlogits);
  float* out = ctx->buf(ctx->L.step_scores);
  ctx->ops->step_fn_dlogits(dlogits, out, logits, contrast, ctx->buf<int32_t>(ctx->L.step_tgt),
                            ctx->buf<int32_t>(ctx->L.step_ctgt), R, V, prm, workspace(ctx));
  for (int r = 0; r < R; ++r)
    if (positions[r] < 0) ctx->queue->zero(dlogits + (int64_t)r * V, sizeof(float) * V);
  if (scores) {
    ctx->queue->download(scores, out, sizeof(float) * R);
    for (int r = 0; r < R; ++r)
      if (positions[r] < 0) scores[r] = std::numeric_limits<float>::quiet_NaN();
  }
  return dlogits;
}

void check_step_ids(const int32_t* ids, int64_t n, int vocab, const char* what, const int32_t* skip) {
  for (int64_t i = 0; i < n; ++i) {
    if (skip && skip[i] < 0) continue;
    INQ_CHECK(ids[i] >= 0 && ids[i] < vocab, INQ_ERR_INVALID_ARGUMENT, "%s[%lld] = %d is outside the vocabulary [0, %d)",
              what, (long long)i, ids[i], vocab);
  }
}

}  // namespace inq
