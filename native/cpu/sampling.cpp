// The next token of each generation row (op sample_tokens, ops.h): greedy argmax or a seeded draw after temperature,
// top-k and top-p, plus the chosen id's log-probability.
//
// The managed reference is src/InseqNative/Generation/TokenSampler.cs; this file follows it operation for operation
// so the two agree bit for bit: the same float division by the temperature, the same (scaled desc, id asc) order,
// the same sequential double sums in that order, the same comparisons with top_p and with u * sum. Instead of an
// index array sorted with a comparator, the order is a sort of unique 64-bit keys (the scaled value's ordered bits,
// then the complemented id) — the same total order, since C#'s CompareTo treats -0 == +0 and NaN as the smallest.
// Each row is one thread's sequential work: deterministic whatever the thread count. Compiled without FMA
// contraction (CMakeLists.txt).
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

// Order key of a scaled value: larger key = earlier in the order. NaN below everything (C#'s double.CompareTo), -0
// equal to +0; the low 32 bits hold ~id so that equal values keep ascending ids.
uint64_t order_key(float s, int id) {
  uint32_t u;
  if (std::isnan(s)) {
    u = 0;
  } else {
    if (s == 0.0f) s = 0.0f;
    std::memcpy(&u, &s, sizeof u);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  }
  return ((uint64_t)u << 32) | (uint64_t)(~(uint32_t)id);
}

int key_id(uint64_t key) { return (int)(~(uint32_t)(key & 0xffffffffu)); }

// TokenSampler.ArgMax: the first id, then any strictly larger value (NaN never replaces; a NaN at id 0 stays).
int argmax(const float* l, int V) {
  int best = 0;
  float value = l[0];
  for (int i = 1; i < V; ++i)
    if (l[i] > value) {
      best = i;
      value = l[i];
    }
  return best;
}

// TokenSampler.Pick (the sampled branch of Next) with the uniform u; keys: 2V floats of scratch.
int draw(const float* l, int V, const SampleParams& p, double u, uint64_t* keys) {
  const float t = p.temperature;
  for (int i = 0; i < V; ++i) keys[i] = order_key(l[i] / t, i);
  int keep = p.top_k > 0 ? std::min(p.top_k, V) : V;
  if (keep < V)
    std::partial_sort(keys, keys + keep, keys + V, std::greater<uint64_t>());
  else
    std::sort(keys, keys + V, std::greater<uint64_t>());
  auto scaled = [&](int i) { return (double)(l[key_id(keys[i])] / t); };
  const double max = scaled(0);
  auto prob = [&](int i) { return std::exp(scaled(i) - max); };
  double sum = 0;
  for (int i = 0; i < keep; ++i) sum += prob(i);
  if (p.top_p < 1.0f) {
    double cum = 0;
    int cut = keep;
    for (int i = 0; i < keep; ++i) {
      cum += prob(i) / sum;
      // Hugging Face keeps the tokens whose cumulative mass before them is below top_p (at least one).
      if (cum >= p.top_p) {
        cut = i + 1;
        break;
      }
    }
    keep = cut;
    sum = 0;
    for (int i = 0; i < keep; ++i) sum += prob(i);
  }
  const double target = u * sum;
  double acc = 0;
  for (int i = 0; i < keep; ++i) {
    acc += prob(i);
    if (target < acc) return key_id(keys[i]);
  }
  return key_id(keys[keep - 1]);
}

// TokenSampler.LogProbability: float max (NaN skipped), float differences, double exp sum and logarithm.
float log_probability(const float* l, int V, int id) {
  float max = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < V; ++i)
    if (l[i] > max) max = l[i];
  double sum = 0;
  for (int i = 0; i < V; ++i) sum += std::exp((double)(l[i] - max));
  return (float)((double)(l[id] - max) - std::log(sum));
}

}  // namespace

void sample_tokens(int32_t* ids, float* logprobs, float* logits, const double* uniforms, const int32_t* forced,
                   const int32_t* ban_offsets, const int32_t* ban_ids, int N, int V, SampleParams p,
                   const Workspace& ws) {
  INQ_CHECK(!p.do_sample || ws.floats_per_slot >= 2 * (size_t)V, INQ_ERR_INTERNAL,
            "sample_tokens: workspace of %zu floats per slot, need %zu", ws.floats_per_slot, 2 * (size_t)V);
  int threads = num_threads();
  if (threads > ws.slots) threads = ws.slots;
  if (threads > N) threads = N;
  if (threads < 1) threads = 1;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    int tid = 0;
#ifdef _OPENMP
    tid = omp_get_thread_num();
#endif
    uint64_t* keys = reinterpret_cast<uint64_t*>(ws.data + (size_t)tid * ws.floats_per_slot);
#pragma omp for schedule(dynamic, 1)
    for (int r = 0; r < N; ++r) {
      float* l = logits + (int64_t)r * V;
      if (ban_offsets)
        for (int32_t j = ban_offsets[r]; j < ban_offsets[r + 1]; ++j)
          l[ban_ids[j]] = -std::numeric_limits<float>::infinity();
      const int f = forced ? forced[r] : -1;
      const int id = f >= 0 ? f : !p.do_sample ? argmax(l, V) : draw(l, V, p, uniforms[r], keys);
      ids[r] = id;
      if (logprobs) logprobs[r] = log_probability(l, V, id);
    }
  }
}

}  // namespace cpu
}  // namespace inq
