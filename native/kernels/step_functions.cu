#include "step_functions.cuh"

#include <cmath>

namespace inq {
namespace cuda {

namespace {

constexpr int kStepBlock = 256;

struct Shared {
  double d[32];
  int i[32];
};

__device__ double row_max(const float* l, int V, Shared& sh) {
  double m = -INFINITY;
  for (int i = threadIdx.x; i < V; i += blockDim.x)
    if (l[i] > m) m = l[i];
  return block_max(m, sh.d, -(double)INFINITY);
}

__device__ double sum_exp(const float* l, int V, double m, Shared& sh) {
  double s = 0.0;
  for (int i = threadIdx.x; i < V; i += blockDim.x) s += exp(l[i] - m);
  return block_sum(s, sh.d);
}

// Max and sum of exp(l - max) of a row: p_i = exp(l_i - m) / s, log-sum-exp = m + log(s).
struct Softmax {
  double m, s;
  __device__ double p(const float* l, int i) const { return exp(l[i] - m) / s; }
  __device__ double lse() const { return m + log(s); }
};

__device__ Softmax softmax_of(const float* l, int V, Shared& sh) {
  Softmax r;
  r.m = row_max(l, V, sh);
  r.s = sum_exp(l, V, r.m, sh);
  return r;
}

// The CPU's prob_grad term for element i: factor * ([i == id] - p_i), factor = logprob ? scale : scale * p_id.
__device__ __forceinline__ double prob_term(double p_i, double p_id, int i, int id, bool logprob, double scale) {
  const double factor = logprob ? scale : scale * p_id;
  return factor * ((i == id ? 1 : 0) - p_i);
}

__device__ __forceinline__ unsigned ordered_bits(float f) {
  const unsigned u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ float from_ordered_bits(unsigned k) {
  return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

// Top-p / top-k filter of one row, evaluated per element by kept(i).
struct Filter {
  bool top_p = false, top_k = false;
  long long kb = -1;  // dropped by top-p: bits(p) < kb, or bits(p) == kb and id <= kid
  int kid = -1;
  float kth = 0.0f;   // dropped by top-k: value < kth
  __device__ bool dropped_p(double p, int i) const {
    if (!top_p) return false;
    const long long b = __double_as_longlong(p);
    return b < kb || (b == kb && i <= kid);
  }
};

// Mass and count of the ids with (bits(p), id) <= (kb, kid).
__device__ bool prefix_ok(const float* x, const Softmax& sm, int V, long long kb, int kid, double threshold, int tail,
                          Shared& sh) {
  double mass = 0.0;
  int count = 0;
  for (int i = threadIdx.x; i < V; i += blockDim.x) {
    const double p = sm.p(x, i);
    const long long b = __double_as_longlong(p);
    if (b < kb || (b == kb && i <= kid)) {
      mass += p;
      ++count;
    }
  }
  mass = block_sum(mass, sh.d);
  count = block_sum(count, sh.i);
  return mass <= threshold && count <= tail;
}

// StepMath.TopPKeep on softmax(x): the largest (probability, id) prefix with running sum <= (double)(1 - top_p) and
// at most V - max(1, min_keep) ids is dropped.
__device__ void find_top_p(Filter& f, const float* x, const Softmax& sm, int V, float top_p, int min_keep,
                           Shared& sh) {
  if (top_p >= 1.0f) return;
  f.top_p = true;
  const double threshold = (double)(1.0f - top_p);
  const int tail = V - (min_keep > 1 ? min_keep : 1);
  const int kMaxId = 0x7fffffff;
  // Level: the largest probability bit pattern whose whole level (all ids) can be dropped. p <= 1.0.
  long long lo = -1, hi = __double_as_longlong(1.0) + 1;
  while (hi - lo > 1) {
    const long long mid = lo + (hi - lo) / 2;
    if (prefix_ok(x, sm, V, mid, kMaxId, threshold, tail, sh))
      lo = mid;
    else
      hi = mid;
  }
  // Within the next level (bits == hi), the ids in ascending order.
  int lo2 = -1, hi2 = V;
  while (hi2 - lo2 > 1) {
    const int mid = lo2 + (hi2 - lo2) / 2;
    if (prefix_ok(x, sm, V, hi, mid, threshold, tail, sh))
      lo2 = mid;
    else
      hi2 = mid;
  }
  f.kb = hi;
  f.kid = lo2;
}

// StepMath.TopKKeep: among the kept ids, drop those whose value is below the k-th largest kept value.
__device__ void find_top_k(Filter& f, const float* x, const Softmax& sm, int V, int k, Shared& sh) {
  if (k <= 0 || k >= V) return;
  int n = 0;
  for (int i = threadIdx.x; i < V; i += blockDim.x) n += f.dropped_p(sm.p(x, i), i) ? 0 : 1;
  n = block_sum(n, sh.i);
  if (k >= n) return;
  long long lo = 0, hi = 1LL << 32;  // count(value key >= lo) >= k holds at 0 (k < n) and fails at 2^32
  while (hi - lo > 1) {
    const long long mid = lo + (hi - lo) / 2;
    int c = 0;
    for (int i = threadIdx.x; i < V; i += blockDim.x)
      if (!f.dropped_p(sm.p(x, i), i) && (long long)ordered_bits(x[i]) >= mid) ++c;
    c = block_sum(c, sh.i);
    if (c >= k)
      lo = mid;
    else
      hi = mid;
  }
  f.top_k = true;
  f.kth = from_ordered_bits((unsigned)lo);
}

__device__ double kept_lse(const float* l, const float* q, const Softmax& smq, const Filter& f, int V, Shared& sh) {
  double m = -INFINITY;
  for (int i = threadIdx.x; i < V; i += blockDim.x)
    if (!f.dropped_p(smq.p(q, i), i) && !(f.top_k && q[i] < f.kth) && l[i] > m) m = l[i];
  m = block_max(m, sh.d, -(double)INFINITY);
  double s = 0.0;
  for (int i = threadIdx.x; i < V; i += blockDim.x)
    if (!f.dropped_p(smq.p(q, i), i) && !(f.top_k && q[i] < f.kth)) s += exp(l[i] - m);
  s = block_sum(s, sh.d);
  return m + log(s);
}

// One block per row. d (dlogits row) may be NULL: scores only.
__global__ void step_fn_kernel(float* dlogits, float* scores, const float* logits, const float* contrast_logits,
                               const int32_t* targets, const int32_t* contrast_targets, int V, StepFnParams prm) {
  __shared__ Shared sh;
  const int64_t r = blockIdx.x;
  const float* l = logits + r * V;
  const bool shares = contrast_logits == nullptr;
  const float* q = shares ? l : contrast_logits + r * V;
  float* d = dlogits ? dlogits + r * V : nullptr;
  const int y = targets[r], c = contrast_targets ? contrast_targets[r] : targets[r];
  const bool lp = prm.logprob != 0;
  const double ln2 = log(2.0);
  const int tid = threadIdx.x;
  double score = 0.0;

  switch (prm.fn) {
    case INQ_STEP_LOGIT:
      score = l[y];
      if (d)
        for (int i = tid; i < V; i += blockDim.x) d[i] = i == y ? 1.0f : 0.0f;
      break;
    case INQ_STEP_PROBABILITY:
    case INQ_STEP_CROSSENTROPY:
    case INQ_STEP_PERPLEXITY: {
      const Softmax sm = softmax_of(l, V, sh);
      const double a = l[y] - sm.lse();
      double scale = 1.0;
      bool logp = lp;
      if (prm.fn == INQ_STEP_PROBABILITY) {
        score = lp ? a : exp(a);
      } else if (prm.fn == INQ_STEP_CROSSENTROPY) {
        score = -a;
        scale = -1.0;
        logp = true;
      } else {
        score = exp(-a);
        scale = -score;
        logp = true;
      }
      if (d) {
        const double py = sm.p(l, y);
        for (int i = tid; i < V; i += blockDim.x) d[i] = (float)prob_term(sm.p(l, i), py, i, y, logp, scale);
      }
      break;
    }
    case INQ_STEP_ENTROPY: {
      const Softmax sm = softmax_of(l, V, sh);
      double h = 0.0;
      for (int i = tid; i < V; i += blockDim.x) {
        const double p = sm.p(l, i);
        if (p > 0) h -= p * log(p);
      }
      h = block_sum(h, sh.d);
      score = h;
      if (d)
        for (int i = tid; i < V; i += blockDim.x) {
          const double p = sm.p(l, i);
          d[i] = p > 0 ? (float)(-p * (log(p) + h)) : 0.0f;
        }
      break;
    }
    case INQ_STEP_CONTRAST_LOGITS:
      score = q[c];
      if (d)
        for (int i = tid; i < V; i += blockDim.x) d[i] = (shares && i == c) ? 1.0f : 0.0f;
      break;
    case INQ_STEP_CONTRAST_LOGITS_DIFF:
      score = l[y] - (double)q[c];
      if (d)
        for (int i = tid; i < V; i += blockDim.x) {
          float v = 0.0f;
          if (i == y) v += 1.0f;
          if (shares && i == c) v -= 1.0f;
          d[i] = v;
        }
      break;
    case INQ_STEP_CONTRAST_PROB:
    case INQ_STEP_CONTRAST_PROB_DIFF:
    case INQ_STEP_PCXMI:
    case INQ_STEP_IN_CONTEXT_PVI: {
      const Softmax sml = softmax_of(l, V, sh);
      const Softmax smq = shares ? sml : softmax_of(q, V, sh);
      const double a = l[y] - sml.lse(), b = q[c] - smq.lse();
      // Gradient terms: (id, logprob, scale) for y and, when the contrast shares the logits, for c.
      bool has_y = true, logp = lp;
      double sy = 1.0, sc = -1.0;
      switch (prm.fn) {
        case INQ_STEP_CONTRAST_PROB:
          score = lp ? b : exp(b);
          has_y = false;
          sc = 1.0;
          break;
        case INQ_STEP_CONTRAST_PROB_DIFF:
          score = lp ? a - b : exp(a) - exp(b);
          break;
        case INQ_STEP_PCXMI:
          score = (b - a) / ln2;
          logp = true;
          sy = -1 / ln2;
          sc = 1 / ln2;
          break;
        default:  // INQ_STEP_IN_CONTEXT_PVI
          score = b - a;
          logp = true;
          sy = -1;
          sc = 1;
          break;
      }
      if (d) {
        const double py = sml.p(l, y), pc = sml.p(l, c);
        for (int i = tid; i < V; i += blockDim.x) {
          const double pi = sml.p(l, i);
          // As the CPU: the first term is stored as float, the second added to it in float.
          float v = has_y ? (float)prob_term(pi, py, i, y, logp, sy) : 0.0f;
          if (shares) v = v + (float)prob_term(pi, pc, i, c, logp, sc);
          d[i] = v;
        }
      }
      break;
    }
    case INQ_STEP_KL_DIVERGENCE: {
      const Softmax smq = softmax_of(q, V, sh);
      Filter f;
      find_top_p(f, q, smq, V, prm.top_p, prm.min_keep, sh);
      find_top_k(f, q, smq, V, prm.top_k, sh);
      const double lse_p = kept_lse(l, q, smq, f, V, sh), lse_q = kept_lse(q, q, smq, f, V, sh);
      double kl = 0.0;
      for (int i = tid; i < V; i += blockDim.x) {
        if (f.dropped_p(smq.p(q, i), i) || (f.top_k && q[i] < f.kth)) continue;
        const double log_p = l[i] - lse_p, log_q = q[i] - lse_q;
        kl += exp(log_p) * (log_p - log_q);
      }
      kl = block_sum(kl, sh.d);
      score = kl;
      if (d)
        for (int i = tid; i < V; i += blockDim.x) {
          if (f.dropped_p(smq.p(q, i), i) || (f.top_k && q[i] < f.kth)) {
            d[i] = 0.0f;
            continue;
          }
          const double log_p = l[i] - lse_p, log_q = q[i] - lse_q;
          d[i] = (float)(exp(log_p) * (log_p - log_q - kl));
        }
      break;
    }
    default: {  // INQ_STEP_TOP_P_SIZE (callers never ask for its gradient)
      const Softmax sm = softmax_of(l, V, sh);
      Filter f;
      find_top_p(f, l, sm, V, prm.top_p, prm.min_keep, sh);
      int n = 0;
      for (int i = tid; i < V; i += blockDim.x) n += f.dropped_p(sm.p(l, i), i) ? 0 : 1;
      score = block_sum(n, sh.i);
      if (d)
        for (int i = tid; i < V; i += blockDim.x) d[i] = 0.0f;
      break;
    }
  }
  if (scores && tid == 0) scores[r] = (float)score;
}

void launch(float* dlogits, float* scores, const float* logits, const float* contrast_logits, const int32_t* targets,
            const int32_t* contrast_targets, int R, int V, StepFnParams p, cudaStream_t stream) {
  if (R <= 0) return;
  step_fn_kernel<<<R, kStepBlock, 0, stream>>>(dlogits, scores, logits, contrast_logits, targets, contrast_targets, V,
                                               p);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

// No scratch: the filters are found by search, not by sorting (see the header).
size_t step_fn_workspace_floats(int V) {
  (void)V;
  return 0;
}

void step_fn_scores(float* scores, const float* logits, const float* contrast_logits, const int32_t* targets,
                    const int32_t* contrast_targets, int R, int V, StepFnParams p, const Workspace& ws,
                    cudaStream_t stream) {
  (void)ws;
  launch(nullptr, scores, logits, contrast_logits, targets, contrast_targets, R, V, p, stream);
}

void step_fn_dlogits(float* dlogits, float* scores, const float* logits, const float* contrast_logits,
                     const int32_t* targets, const int32_t* contrast_targets, int R, int V, StepFnParams p,
                     const Workspace& ws, cudaStream_t stream) {
  (void)ws;
  launch(dlogits, scores, logits, contrast_logits, targets, contrast_targets, R, V, p, stream);
}

}  // namespace cuda
}  // namespace inq
