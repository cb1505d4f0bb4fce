// Inseq's step functions over logits rows: scores and their gradients with respect to the logits.
//
// The managed reference is src/InseqNative/StepFunctions (BuiltinStepFunctions.cs, StepMath.cs); this file follows it
// operation for operation — the same double-precision softmax (max, then a sequential sum of exp(l - max)), the same
// float accumulation where the reference accumulates two gradient terms in float, Hugging Face's top-p rule on an
// ascending (probability, id) sort with the threshold computed in float as the reference does — so the two agree to
// rounding, and top-p / top-k keep the same ids. Each row is one thread's sequential work: deterministic whatever the
// thread count. Compiled without FMA contraction (CMakeLists.txt) for the same reason.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "cpu.h"
#include "../src/common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace inq {
namespace cpu {

namespace {

// Per-thread scratch: probabilities (double, V), a sort order (int32, V; reused as top-k values), a keep mask (bytes).
struct Scratch {
  double* probs;
  int32_t* order;
  float* values;
  uint8_t* keep;
};

Scratch carve(float* slot, int V) {
  Scratch s;
  s.probs = reinterpret_cast<double*>(slot);
  s.order = reinterpret_cast<int32_t*>(slot + 2 * (size_t)V);
  s.values = slot + 2 * (size_t)V;
  s.keep = reinterpret_cast<uint8_t*>(slot + 3 * (size_t)V);
  return s;
}

double row_max(const float* l, int V) {
  double m = -std::numeric_limits<double>::infinity();
  for (int i = 0; i < V; ++i)
    if (l[i] > m) m = l[i];
  return m;
}

// StepMath.LogSumExp.
double log_sum_exp(const float* l, int V) {
  const double m = row_max(l, V);
  double s = 0;
  for (int i = 0; i < V; ++i) s += std::exp(l[i] - m);
  return m + std::log(s);
}

double log_prob(const float* l, int V, int id) { return l[id] - log_sum_exp(l, V); }

// StepMath.Softmax into p.
void softmax(double* p, const float* l, int V) {
  const double m = row_max(l, V);
  double s = 0;
  for (int i = 0; i < V; ++i) {
    p[i] = std::exp(l[i] - m);
    s += p[i];
  }
  for (int i = 0; i < V; ++i) p[i] /= s;
}

// Grad.Probability: d = (accumulate ? d : 0) + scale * d[p(id) or ln p(id)] / dl, with p = softmax(l) given.
void prob_grad(float* d, const double* p, int V, int id, bool logprob, double scale, bool accumulate) {
  const double factor = logprob ? scale : scale * p[id];
  for (int i = 0; i < V; ++i) {
    const double g = factor * ((i == id ? 1 : 0) - p[i]);
    d[i] = accumulate ? d[i] + (float)g : (float)g;
  }
}

// StepMath.TopPKeep on probabilities p: ascending (probability, id) order, drop while the cumulative mass is
// <= 1 - top_p (in float, as the reference), always keep the min_keep most likely.
void top_p_keep(uint8_t* keep, int32_t* order, const double* p, int V, float top_p, int min_keep) {
  if (top_p >= 1.0f) {
    std::memset(keep, 1, (size_t)V);
    return;
  }
  for (int i = 0; i < V; ++i) order[i] = i;
  std::sort(order, order + V, [p](int32_t a, int32_t b) { return p[a] < p[b] || (p[a] == p[b] && a < b); });
  const double threshold = (double)(1.0f - top_p);
  const int tail = V - std::max(1, min_keep);
  double cum = 0;
  for (int i = 0; i < V; ++i) {
    cum += p[order[i]];
    keep[order[i]] = (cum > threshold || i >= tail) ? 1 : 0;
  }
}

// StepMath.TopKKeep: among the kept ids, drop those whose logit is below the k-th largest kept logit.
void top_k_keep(uint8_t* keep, float* values, const float* l, int V, int k) {
  if (k <= 0 || k >= V) return;
  int n = 0;
  for (int i = 0; i < V; ++i)
    if (keep[i]) values[n++] = l[i];
  if (k >= n) return;
  std::nth_element(values, values + (k - 1), values + n, std::greater<float>());
  const float kth = values[k - 1];
  for (int i = 0; i < V; ++i)
    if (l[i] < kth) keep[i] = 0;
}

// Log-sum-exp over the kept ids (KlDivergenceFunction.Filtered's Lse).
double kept_lse(const float* l, const uint8_t* keep, int V) {
  double m = -std::numeric_limits<double>::infinity();
  for (int i = 0; i < V; ++i)
    if (keep[i] && l[i] > m) m = l[i];
  double s = 0;
  for (int i = 0; i < V; ++i)
    if (keep[i]) s += std::exp(l[i] - m);
  return m + std::log(s);
}

// One row: returns the score; writes d (length V) when non-NULL. q == NULL: the contrast shares the row's logits.
double step_row(float* d, const float* l, const float* q_or_null, int y, int c, int V, const StepFnParams& prm,
                const Scratch& s) {
  const bool shares = q_or_null == nullptr;
  const float* q = shares ? l : q_or_null;
  const bool lp = prm.logprob != 0;
  const double ln2 = std::log(2.0);
  auto zero = [&] { std::memset(d, 0, sizeof(float) * (size_t)V); };
  switch (prm.fn) {
    case INQ_STEP_LOGIT:
      if (d) {
        zero();
        d[y] = 1;
      }
      return l[y];
    case INQ_STEP_PROBABILITY: {
      const double a = log_prob(l, V, y);
      if (d) {
        softmax(s.probs, l, V);
        prob_grad(d, s.probs, V, y, lp, 1, false);
      }
      return lp ? a : std::exp(a);
    }
    case INQ_STEP_ENTROPY: {
      softmax(s.probs, l, V);
      double h = 0;
      for (int i = 0; i < V; ++i)
        if (s.probs[i] > 0) h -= s.probs[i] * std::log(s.probs[i]);
      if (d)
        for (int i = 0; i < V; ++i)
          d[i] = s.probs[i] > 0 ? (float)(-s.probs[i] * (std::log(s.probs[i]) + h)) : 0.0f;
      return h;
    }
    case INQ_STEP_CROSSENTROPY: {
      const double a = log_prob(l, V, y);
      if (d) {
        softmax(s.probs, l, V);
        prob_grad(d, s.probs, V, y, true, -1, false);
      }
      return -a;
    }
    case INQ_STEP_PERPLEXITY: {
      const double ppl = std::exp(-log_prob(l, V, y));
      if (d) {
        softmax(s.probs, l, V);
        prob_grad(d, s.probs, V, y, true, -ppl, false);
      }
      return ppl;
    }
    case INQ_STEP_CONTRAST_LOGITS:
      if (d) {
        zero();
        if (shares) d[c] = 1;
      }
      return q[c];
    case INQ_STEP_CONTRAST_PROB: {
      const double b = log_prob(q, V, c);
      if (d) {
        zero();
        if (shares) {
          softmax(s.probs, l, V);
          prob_grad(d, s.probs, V, c, lp, 1, true);
        }
      }
      return lp ? b : std::exp(b);
    }
    case INQ_STEP_CONTRAST_LOGITS_DIFF:
      if (d) {
        zero();
        d[y] += 1;
        if (shares) d[c] -= 1;
      }
      return l[y] - (double)q[c];
    case INQ_STEP_CONTRAST_PROB_DIFF: {
      const double a = log_prob(l, V, y), b = log_prob(q, V, c);
      if (d) {
        softmax(s.probs, l, V);
        prob_grad(d, s.probs, V, y, lp, 1, false);
        if (shares) prob_grad(d, s.probs, V, c, lp, -1, true);
      }
      return lp ? a - b : std::exp(a) - std::exp(b);
    }
    case INQ_STEP_PCXMI: {
      const double a = log_prob(l, V, y), b = log_prob(q, V, c);
      if (d) {
        softmax(s.probs, l, V);
        prob_grad(d, s.probs, V, y, true, -1 / ln2, false);
        if (shares) prob_grad(d, s.probs, V, c, true, 1 / ln2, true);
      }
      return (b - a) / ln2;
    }
    case INQ_STEP_IN_CONTEXT_PVI: {
      const double a = log_prob(l, V, y), b = log_prob(q, V, c);
      if (d) {
        softmax(s.probs, l, V);
        prob_grad(d, s.probs, V, y, true, -1, false);
        if (shares) prob_grad(d, s.probs, V, c, true, 1, true);
      }
      return b - a;
    }
    case INQ_STEP_KL_DIVERGENCE: {
      softmax(s.probs, q, V);
      top_p_keep(s.keep, s.order, s.probs, V, prm.top_p, prm.min_keep);
      top_k_keep(s.keep, s.values, q, V, prm.top_k);
      const double lse_p = kept_lse(l, s.keep, V), lse_q = kept_lse(q, s.keep, V);
      double kl = 0;
      for (int i = 0; i < V; ++i)
        if (s.keep[i]) {
          const double log_p = l[i] - lse_p, log_q = q[i] - lse_q;
          kl += std::exp(log_p) * (log_p - log_q);
        }
      if (d)
        for (int i = 0; i < V; ++i) {
          if (!s.keep[i]) {
            d[i] = 0.0f;
            continue;
          }
          const double log_p = l[i] - lse_p, log_q = q[i] - lse_q;
          d[i] = (float)(std::exp(log_p) * (log_p - log_q - kl));
        }
      return kl;
    }
    default: {  // INQ_STEP_TOP_P_SIZE (callers never ask for its gradient)
      softmax(s.probs, l, V);
      top_p_keep(s.keep, s.order, s.probs, V, prm.top_p, prm.min_keep);
      int n = 0;
      for (int i = 0; i < V; ++i) n += s.keep[i];
      if (d) zero();
      return n;
    }
  }
}

void run_rows(float* dlogits, float* scores, const float* logits, const float* contrast_logits,
              const int32_t* targets, const int32_t* contrast_targets, int R, int V, const StepFnParams& p,
              const Workspace& ws) {
  int threads = num_threads();
  if (threads > ws.slots) threads = ws.slots;
  if (threads > R) threads = R;
  if (threads < 1) threads = 1;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    int tid = 0;
#ifdef _OPENMP
    tid = omp_get_thread_num();
#endif
    const Scratch s = carve(ws.data + (size_t)tid * ws.floats_per_slot, V);
#pragma omp for schedule(dynamic, 1)
    for (int r = 0; r < R; ++r) {
      const int64_t off = (int64_t)r * V;
      const int y = targets[r], c = contrast_targets ? contrast_targets[r] : targets[r];
      const double v = step_row(dlogits ? dlogits + off : nullptr, logits + off,
                                contrast_logits ? contrast_logits + off : nullptr, y, c, V, p, s);
      if (scores) scores[r] = (float)v;
    }
  }
}

}  // namespace

size_t step_fn_workspace_floats(int V) {
  // probs (2V) + order/values (V) + keep bytes (V / 4), rounded to 16 floats so every slot stays 64-byte aligned.
  const size_t n = 3 * (size_t)V + ((size_t)V + 3) / 4;
  return (n + 15) / 16 * 16;
}

void step_fn_scores(float* scores, const float* logits, const float* contrast_logits, const int32_t* targets,
                    const int32_t* contrast_targets, int R, int V, StepFnParams p, const Workspace& ws) {
  run_rows(nullptr, scores, logits, contrast_logits, targets, contrast_targets, R, V, p, ws);
}

void step_fn_dlogits(float* dlogits, float* scores, const float* logits, const float* contrast_logits,
                     const int32_t* targets, const int32_t* contrast_targets, int R, int V, StepFnParams p,
                     const Workspace& ws) {
  run_rows(dlogits, scores, logits, contrast_logits, targets, contrast_targets, R, V, p, ws);
}

}  // namespace cpu
}  // namespace inq
